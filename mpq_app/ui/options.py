"""The options a layer may take, as the sidebar offers them: a ladder of weight widths, or, when
the sensitivity file gives one loss per layer and format, a set of quantization formats.

Each picker shows the field of the settings it sets (``ui.settings``) and returns what the data
takes of it, with why that differs from what was chosen: a ladder the data cannot fill falls
back to the data's own widths, and formats the file gives no loss for fall back to every
catalog format it does. A format data set never takes a ladder, nor width data formats.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from mpq_core import InputError, Inputs, Spec
from mpq_core.io.reading import decode
from mpq_core.model.formats import CATALOG, Format, order, parse_formats
from mpq_core.model.spec import MAX_WIDTH

from . import settings, state
from .data import DataFiles, cached_problem
from .text import plain


@dataclass(frozen=True)
class Options:
    """The options in use: a ladder (``formats`` None) or formats (``ladder`` None), with why
    they differ from the chosen ones (plain text)."""

    ladder: tuple[int, ...] | None
    formats: tuple[Format, ...] | None
    problems: tuple[str, ...] = ()

    @property
    def pin_widths(self) -> tuple[int, ...]:
        """The widths a layer may be pinned to: the ladder's, or the formats' weight bits."""
        return _pin_widths(self.ladder, self.formats)


def pin_widths(spec: Spec) -> tuple[int, ...]:
    """What a layer of ``spec`` may be pinned to: the ladder's widths, or the formats' weight
    bits (a pin to 4 keeps the 4-bit formats)."""
    return _pin_widths(spec.ladder, spec.formats)


def _pin_widths(ladder: tuple[int, ...] | None, formats: tuple[Format, ...] | None):
    if formats is None:
        return ladder or ()
    return tuple(sorted({f.bits for f in formats}))


def pin_label(formats: tuple[Format, ...] | None, width: int) -> str:
    """``4 bits``, or with formats ``4 bits (int4_g128, nvfp4)``: what a pin to it keeps."""
    if formats is None:
        return f"{width} bits"
    return f"{width} bits ({', '.join(f.name for f in formats if f.bits == width)})"


def by_format(inputs: Inputs) -> bool:
    """The sensitivity file gives one loss (or score) per layer and format."""
    return inputs.sensitivity.kind == "per_format"


def own_formats() -> tuple[dict[str, Format], tuple[str, ...]]:
    """The formats of the uploaded formats file by name (none without one), and why the file
    is not used when it cannot be read. They are kept in the session for the picker's
    callback (``settings.OWN_FORMATS``)."""
    upload = st.session_state.get(settings.FORMATS_UPLOAD)
    own: dict[str, Format] = {}
    problems: tuple[str, ...] = ()
    if upload is not None:
        try:
            own = _read_formats(upload.name, upload.getvalue())
        except InputError as err:
            problems = (f"{err}. The formats file is not used.",)
    st.session_state[settings.OWN_FORMATS] = own
    return own, problems


def own_formats_bytes() -> bytes:
    """The uploaded formats file's contents (empty without one)."""
    upload = st.session_state.get(settings.FORMATS_UPLOAD)
    return b"" if upload is None else upload.getvalue()


@st.cache_data(show_spinner=False, max_entries=8)
def _read_formats(name: str, content: bytes) -> dict[str, Format]:
    return parse_formats(decode(content, name), name)


def file_formats(inputs: Inputs, own: dict[str, Format]) -> tuple[Format, ...]:
    """The formats (the catalog's and ``own``, which may redefine a catalog name) the
    sensitivity file gives a value for, cheapest first."""
    known = CATALOG | own
    covered = [known[name] for name in inputs.sensitivity.formats if name in known]
    return order(covered, inputs.sensitivity.source) if len(covered) >= 2 else tuple(covered)


def check_spec(inputs: Inputs) -> Spec:
    """Settings any usable data of this kind builds a problem with: the default ladder, or
    every known format the file covers (an InputError when it covers fewer than two)."""
    if not by_format(inputs):
        return Spec()
    own, _ = own_formats()  # the uploaded file now (the picker is drawn after this check)
    formats = file_formats(inputs, own)
    if len(formats) < 2:
        names = ", ".join(inputs.sensitivity.formats[:6])
        raise InputError(
            inputs.sensitivity.source,
            f"gives losses for the formats {names}, of which fewer than two are in mpq's "
            "catalog or the formats file: upload a formats file that defines them "
            "(Constraints, files)",
        )
    return Spec(formats=formats)


def options(files: DataFiles, inputs: Inputs) -> Options:
    """The picker of this data's options (drawn now) and the options in use."""
    return _formats(files, inputs) if by_format(inputs) else _ladder(files, inputs)


def _formats(files: DataFiles, inputs: Inputs) -> Options:
    own, problems = own_formats()
    offered = file_formats(inputs, own)
    st.pills(
        "Formats",
        [f.name for f in offered],
        selection_mode="multi",
        help="The quantization formats each layer may take (weights with their scales, and "
        "activations). Effective bits per weight of a large tensor: "
        + ", ".join(f"{f.name} {f.weight.asymptotic_bits():g}" for f in offered)
        + ". See docs/formats.md.",
        **settings.bind("formats"),
    )
    left_out = [n for n in inputs.sensitivity.formats if n not in CATALOG and n not in own]
    problems += _left_out(left_out)
    chosen = settings.current().formats
    every = "/".join(f.name for f in offered)
    if chosen is None:
        st.caption(plain(f"No format chosen: using {every}."))
        return Options(None, offered, problems)
    missing = [f.name for f in chosen if f.name not in {g.name for g in offered}]
    if missing:
        why = f"{inputs.sensitivity.source} gives no loss for {', '.join(missing)}"
        return Options(None, offered, (*problems, f"{why}. Using {every} instead."))
    return Options(None, chosen, problems)


def _left_out(names: list[str]) -> tuple[str, ...]:
    if not names:
        return ()
    shown = ", ".join(names[:6]) + (" ..." if len(names) > 6 else "")
    return (
        f"Formats not in mpq's catalog are left out: {shown} (a formats file defines them: "
        "Constraints, files).",
    )


def _own_ladder(files: DataFiles, rule: str, discount: float) -> tuple[int, ...]:
    """The ladder the engine picks for these files (the per-bit table's widths, else the
    default), cut to ``APP_MAX_LADDER`` widths."""
    widths = cached_problem(files, Spec(abit_rule=rule, upgrade_discount=discount)).widths
    return tuple(widths[: state.APP_MAX_LADDER])


def _ladder(files: DataFiles, inputs: Inputs) -> Options:
    """The ladder widget and the ladder in use, with why it differs from the chosen one."""
    sens = inputs.sensitivity
    chosen = settings.current()
    known = [w for w in (*state.LADDER_CHOICES, *sens.widths) if w <= MAX_WIDTH]
    st.pills(
        "Width ladder (bits)",
        sorted({*known, *(chosen.ladder or ())}),
        selection_mode="multi",
        help=f"The weight widths each layer may take (at most {state.APP_MAX_LADDER}).",
        **settings.bind("ladder"),
    )
    rule, discount = chosen.abit_rule, chosen.upgrade_discount
    own = _own_ladder(files, rule, discount)
    shown = "/".join(map(str, own))
    instead = f"Using {shown} instead."
    dropped = ("This data gives no loss per format: the formats are not used.",)
    problems = dropped if chosen.formats is not None else ()
    ladder = chosen.ladder
    if not ladder:
        st.caption(f"No width chosen: using {shown}.")
        return Options(own, None, problems)
    if len(ladder) > state.APP_MAX_LADDER:
        most = state.APP_MAX_LADDER
        why = f"A ladder has at most {most} widths ({len(ladder)} chosen). {instead}"
        return Options(own, None, (*problems, why))
    try:
        cached_problem(files, Spec(ladder=ladder, abit_rule=rule, upgrade_discount=discount))
    except InputError as err:
        return Options(own, None, (*problems, f"{err}. {instead}"))
    return Options(ladder, None, problems)
