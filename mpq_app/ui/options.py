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
from mpq_core.model.formats import CATALOG, Format, order
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


def file_formats(inputs: Inputs) -> tuple[Format, ...]:
    """The catalog's formats the sensitivity file gives a value for, cheapest first."""
    known = [CATALOG[name] for name in inputs.sensitivity.formats if name in CATALOG]
    return order(known, inputs.sensitivity.source) if len(known) >= 2 else tuple(known)


def check_spec(inputs: Inputs) -> Spec:
    """Settings any usable data of this kind builds a problem with: the default ladder, or
    every catalog format the file covers (an InputError when it covers fewer than two)."""
    if not by_format(inputs):
        return Spec()
    formats = file_formats(inputs)
    if len(formats) < 2:
        names = ", ".join(inputs.sensitivity.formats[:6])
        raise InputError(
            inputs.sensitivity.source,
            f"gives losses for the formats {names}, of which fewer than two are in mpq's "
            "catalog: the dashboard chooses among catalog formats (the command line's "
            "--formats_file defines others)",
        )
    return Spec(formats=formats)


def options(files: DataFiles, inputs: Inputs) -> Options:
    """The picker of this data's options (drawn now) and the options in use."""
    return _formats(files, inputs) if by_format(inputs) else _ladder(files, inputs)


def _formats(files: DataFiles, inputs: Inputs) -> Options:
    offered = file_formats(inputs)
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
    left_out = [n for n in inputs.sensitivity.formats if n not in CATALOG]
    problems = _left_out(left_out)
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
        f"Formats not in mpq's catalog are left out: {shown} (the command line's "
        "--formats_file defines them).",
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
