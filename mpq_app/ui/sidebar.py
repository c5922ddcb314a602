"""The shared sidebar: data source, solver, cost model, pins and constraints, as one Spec.

Each widget shows a field of the settings chosen (``ui.settings``: one Spec in session state),
set from them just before it is drawn, and its callback writes them back. The settings are
checked against the loaded data here, before any page uses them; what a page receives is the
spec in use (a ladder the data cannot fill falls back, and the pin boxes then offer the widths
of the fallback; pins of layers not in the data are left out).

Uploaded files are parsed once: a pair that is rejected is remembered by the hash of
everything its reading depends on (contents, names, prefix, ladder) and not read again on the
next rerun, and only data that has drawn a whole page becomes the data to fall back on. A
bundled sample opens with its own settings (``state.choose_source``); an uploaded resources
file applies to whatever data is in use.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from mpq_core import (
    ABIT_RULES,
    SAMPLES,
    SOLVER_LABELS,
    SOLVERS,
    Constraints,
    InputError,
    Inputs,
    Pin,
    Spec,
)

from . import constraints, data, pins, sections, settings, state
from .data import (
    MAX_UPLOAD_LAYERS,
    DataFiles,
    cached_inputs,
    cached_problem,
    cached_resources,
    check_upload_size,
    given_files,
    given_paths,
    needs_ladder,
    sample_files,
)
from .options import (
    Options,
    by_format,
    check_spec,
    options,
    own_formats_bytes,
    pin_label,
    pin_widths,
)
from .text import plain, shorten

Pins = tuple[tuple[str, tuple[int, ...]], ...]

SOURCE_LABELS = {key: sample.label for key, sample in SAMPLES.items()} | {
    state.UPLOAD: "Upload a Phase 1 and a Phase 2 file"
}
RULE_LABELS = {"plus4": "A = min(W + 4, 16)", "match": "A = W"}
SENSE_LABELS = {"file": "as the file says", "loss": "losses (lower is better)",
                "score": "scores (higher is better)"}  # fmt: skip
MAX_REJECTS = 16  # rejected uploads remembered per session
_GOOD = "_data_good"  # the last data that drew a whole page
_GOOD_UPLOAD = "_upload_good"  # the last uploaded pair that drew a whole page
_REPLACING = "_upload_replacing"
_REJECTS = "_upload_rejects"  # content hash -> why the pair was rejected
_LOG = logging.getLogger("mpq.app")


@dataclass(frozen=True)
class Settings:
    """What the sidebar settled on: the data source and the spec in use (its limits are the
    Constraints section's, checked against the data by the page)."""

    source: str
    spec: Spec

    @property
    def solver(self) -> str:
        return self.spec.solver

    @property
    def pin_widths(self) -> tuple[int, ...]:
        """What a layer may be pinned to: the ladder's widths, or the formats' weight bits."""
        return pin_widths(self.spec)

    @property
    def pins(self) -> Pins:
        return tuple((pin.layer, pin.widths) for pin in self.spec.pins)


@dataclass(frozen=True)
class LoadedData:
    """The files in use and what went wrong on the way (all text plain, not Markdown)."""

    files: DataFiles
    inputs: Inputs
    origin: str
    uploaded: bool = False
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    base: DataFiles | None = None  # the files before the uploaded resources file, when one is used


@dataclass(frozen=True)
class _Good:
    files: DataFiles
    origin: str
    uploaded: bool


def sidebar() -> tuple[Settings, LoadedData, tuple[str, ...]]:
    """Render the sidebar; return the settings in use, the data they apply to and why a
    setting was not used as asked (plain text)."""
    with st.sidebar:
        st.subheader("Data")
        source = st.radio(
            "Data source",
            state.SOURCES,
            format_func=SOURCE_LABELS.get,
            key="source",
            on_change=state.choose_source,
            label_visibility="collapsed",
        )
        loaded = _load(source)
        _synthetic_notice(loaded.inputs)

        st.subheader("Solver")
        st.radio(
            "Solver",
            list(SOLVERS),
            format_func=lambda s: SOLVER_LABELS.get(s, s),
            label_visibility="collapsed",
            **settings.bind("solver"),
        )

        st.subheader("Cost model")
        sense = _cost_model(loaded.inputs)
        chosen = options(loaded.files, loaded.inputs)
        pinned = _pins(loaded.inputs.layers.names, chosen)
        problems = chosen.problems
        # the spec in use but its constraints: what the data takes of the one chosen
        base = replace(
            settings.current(),
            ladder=chosen.ladder,
            formats=chosen.formats,
            search_spaces=settings.current().search_spaces if chosen.formats else (),
            pins=pinned,
            sense=sense,
            constraints=Constraints(),
        )
        try:
            check = cached_problem(loaded.files, base)
            names, resources = check.names, check.resource_names()
        except InputError:
            names = loaded.inputs.layers.names
            resources = ("bops", "wbits", "mean_wbits")
        problems = (*settings.refused(), *problems)
        problems += tuple(constraints.constraints_section(names, resources, chosen.formats))

    # the section's tables may have changed the limits and the search spaces just now
    spaces = settings.current().search_spaces if chosen.formats else ()
    in_use = replace(base, constraints=constraints.current_constraints(), search_spaces=spaces)
    return Settings(source, in_use), loaded, problems


def _cost_model(inputs: Inputs) -> str | None:
    """The activation rule, the upgrade discount and how per-bit values are read (returned:
    None for as the file says)."""
    sens = inputs.sensitivity
    if by_format(inputs):  # a format has its activation bits; its losses are per format
        st.caption("Each format sets its weight and activation bits (cost = MACs x W x A).")
        return _sense(sens)
    st.radio(
        "Activation bits",
        ABIT_RULES,
        format_func=RULE_LABELS.get,
        horizontal=True,
        help="Activation width that goes with each weight width; cost = MACs x W x A.",
        **settings.bind("abit_rule"),
    )
    st.slider(
        "Upgrade discount",
        min_value=0.0,
        max_value=1.0,
        step=0.05,
        disabled=sens.kind == "per_bit",
        help="Scalar scores only: the step to the j-th width gains score x discount^(j-1) "
        "(4->8 gains the score, 8->16 gains 0.2 x score by default).",
        **settings.bind("discount"),
    )
    return _sense(sens)


def _sense(sens) -> str | None:
    """How per-bit values are read: as the file says (its "higher_is_better"), or forced."""
    if sens.kind not in ("per_bit", "per_format"):
        if settings.current().sense is not None:  # a scalar file has no sense to force
            settings.update(sense=None)
        return None
    st.radio(
        "Per-bit values are",
        tuple(SENSE_LABELS),
        format_func=SENSE_LABELS.get,
        help="Losses: the gain of a width is loss(lowest) - loss(width). Scores (SQNR, SSIM, "
        "accuracy): score(width) - score(lowest). 'As the file says' follows its metadata "
        f"(this file: {sens.sense}es).",
        **settings.bind("sense"),
    )
    return settings.current().sense


def remember_good(data: LoadedData) -> None:
    """``data`` drew a whole page: it becomes the data to fall back on."""
    good = _Good(data.base or data.files, data.origin, data.uploaded)
    st.session_state[_GOOD] = good
    if data.uploaded:
        if st.session_state.get(_GOOD_UPLOAD) != good:
            st.session_state[_REPLACING] = False
        st.session_state[_GOOD_UPLOAD] = good
        st.session_state[state.UPLOAD_FROM_LINK] = False


# --- data source -----------------------------------------------------------------------------


def _usable(files: DataFiles, *, upload: bool = False) -> Inputs:
    """Parse the pair and build a problem from it (cached; raises what the engine raises). An
    upload of more layers than the dashboard takes is refused before the problem is built."""
    inputs = cached_inputs(files)
    if upload:
        check_upload_size(inputs)
    cached_problem(files, check_spec(inputs))
    return inputs


def _load(source: str) -> LoadedData:
    loaded = _load_sample(source) if source in SAMPLES else _load_upload()
    return _with_resources(loaded)


def _load_sample(source: str) -> LoadedData:
    files = sample_files(source)
    try:
        inputs = _usable(files)
    except InputError as err:  # a broken checkout; nothing better to fall back on
        st.error(plain(err))
        st.stop()
    return LoadedData(files, inputs, SAMPLES[source].title)


def _load_upload() -> LoadedData:
    """The uploaded pair in use: the last accepted one (shown by name, with a Replace button)
    or the two uploaders; a pair that cannot be used leaves the previous data in use."""
    good: _Good | None = st.session_state.get(_GOOD_UPLOAD)
    if good is None and given_paths():
        given = _load_given()
        if given.errors:
            return given
        good = st.session_state[_GOOD_UPLOAD] = _Good(given.files, given.origin, True)
    if good is not None and not st.session_state.get(_REPLACING):
        with st.container(border=True, key="upload_in_use"):
            st.markdown(plain(f"Using {good.origin}"))
            st.button(
                "Replace",
                key="upload_replace",
                on_click=_set_replacing,
                args=(True,),
                help="Upload another pair of files; these stay in use until both are in.",
            )
        return LoadedData(good.files, cached_inputs(good.files), good.origin, uploaded=True)

    flops, sens = _upload_widgets(good)
    if flops is None or sens is None:
        return _waiting_for_upload(good)
    files = DataFiles(
        flops.name,
        flops.getvalue(),
        sens.name,
        sens.getvalue(),
        "intersect" if st.session_state.get("intersect") else "error",
        name_prefix=str(st.session_state.get("name_prefix") or "").strip()[:64],
    )
    return _accept(files, f"{flops.name} + {sens.name} (uploaded)")


def _load_given() -> LoadedData:
    """The pair ``mpq app`` was started with, in use as an accepted upload until the user
    replaces it (no size cap: the files are the user's own); unreadable now, the sample."""
    try:
        files = given_files()
    except InputError as err:
        return _fallback(errors=(str(err),))
    assert files is not None  # given_paths() named them
    return _accept(files, f"{files.flops_name} + {files.sensitivity_name} (given to mpq app)",
                   capped=False)  # fmt: skip


def _upload_widgets(good: _Good | None) -> tuple[UploadedFile | None, UploadedFile | None]:
    """The two uploaders, the name prefix, the mismatch choice and "Keep using"; returns the
    two uploaded files (None until each is in)."""
    flops = st.file_uploader(
        "Phase 1: MACs / FLOPs per layer (JSON)",
        type=["json"],
        key="upload_flops",
        help=f"At most {MAX_UPLOAD_LAYERS:,} layers (the command line takes any number).",
    )
    sens = st.file_uploader(
        "Phase 2: sensitivity per layer (JSON or YAML)",
        type=["json", "yaml", "yml"],
        key="upload_sensitivity",
        help="Scalar scores, per-bit tables, or MixDQ's layout (name: [v_w1, v_w2, ...] with "
        f"the widths of the ladder). At most {MAX_UPLOAD_LAYERS:,} layers.",
    )
    st.text_input(
        "Name prefix of the sensitivity file",
        key="name_prefix",
        placeholder="e.g. model.",
        help="Stripped from the sensitivity file's layer names (MixDQ writes model.<name>).",
    )
    st.checkbox(
        "Keep only the layers found in both files",
        key="intersect",
        help="Otherwise files that name different layers are rejected.",
    )
    if good is not None:
        st.button(
            plain(f"Keep using {good.origin}", word=30),
            key="upload_keep",
            on_click=_set_replacing,
            args=(False,),
        )
    return flops, sens


def _accept(files: DataFiles, origin: str, *, capped: bool = True) -> LoadedData:
    """The uploaded pair if it can be used, else the previous data and why (read once);
    ``capped``: refuse more layers than an upload may have."""
    ladder = _chosen_ladder()
    digest = _digest(files, ladder, own_formats_bytes())
    rejects: dict[str, str] = st.session_state.setdefault(_REJECTS, {})
    if digest in rejects:  # read once: a rejected pair is not parsed again on every rerun
        return _fallback(errors=(rejects[digest],))
    try:
        files, inputs = _read_upload(files, ladder, capped)
    except Exception as err:  # any failure to build a problem rejects the pair
        if not isinstance(err, InputError):
            _LOG.exception(
                "uploaded files %s + %s failed", files.flops_name, files.sensitivity_name
            )
        rejects[digest] = _rejection(files, err)
        while len(rejects) > MAX_REJECTS:
            rejects.pop(next(iter(rejects)))
        return _fallback(errors=(rejects[digest],))
    return LoadedData(files, inputs, origin, uploaded=True)


def _read_upload(
    files: DataFiles, ladder: tuple[int, ...], capped: bool
) -> tuple[DataFiles, Inputs]:
    """The pair as read: as it is, or, for one list of values per layer (MixDQ's layout), with
    the widths of the ladder chosen now (kept with the files)."""
    try:
        return files, _usable(files, upload=capped)
    except InputError as err:
        if not ladder or not needs_ladder(err):
            raise
    files = replace(files, ladder=ladder)
    return files, _usable(files, upload=capped)


def _chosen_ladder() -> tuple[int, ...]:
    """The widths of the ladder chosen (empty when none or too many are chosen)."""
    ladder = settings.current().ladder or ()
    return ladder if len(ladder) <= state.APP_MAX_LADDER else ()


def _with_resources(loaded: LoadedData) -> LoadedData:
    """The data with the resources file the user uploaded (a latency table, say), whatever the
    data; a file that cannot be read is named in an error and not used."""
    upload = st.session_state.get(constraints.RESOURCES_UPLOAD)
    if upload is None:
        return loaded
    files = replace(loaded.files, resources_name=upload.name, resources=upload.getvalue())
    try:
        cached_resources(files)
    except InputError as err:
        why = f"{err}. The resources file is not used."
        return replace(loaded, errors=(*loaded.errors, why))
    return replace(loaded, files=files, base=loaded.files)


def _waiting_for_upload(good: _Good | None) -> LoadedData:
    if good is not None:  # replacing: the accepted pair stays in use meanwhile
        note = f"Upload both files to replace {good.origin}; until then it stays in use."
        st.caption(plain(note))
        return LoadedData(good.files, cached_inputs(good.files), good.origin, uploaded=True)
    if st.session_state.get(state.UPLOAD_FROM_LINK):
        note = (
            "This link asked for uploaded files. Uploaded files are not kept across page "
            "reloads or in links: upload both files again in the sidebar."
        )
    else:
        note = "Upload a Phase 1 and a Phase 2 file in the sidebar to use them."
    return _fallback(notes=(note,))


def _fallback(*, errors: tuple[str, ...] = (), notes: tuple[str, ...] = ()) -> LoadedData:
    """Keep showing the last data that drew a page (the default sample if none did)."""
    good: _Good | None = st.session_state.get(_GOOD_UPLOAD) or st.session_state.get(_GOOD)
    if good is None:
        good = _Good(sample_files("sd14"), SAMPLES["sd14"].title, False)
    if errors:
        notes = (*notes, f"Still showing {good.origin}.")
    else:
        notes = tuple(f"{note} Until then the app shows {good.origin}." for note in notes)
    return LoadedData(
        good.files,
        cached_inputs(good.files),
        good.origin,
        uploaded=good.uploaded,
        errors=errors,
        notes=notes,
    )


def _rejection(files: DataFiles, err: Exception) -> str:
    if isinstance(err, InputError):
        return str(err)
    return (
        f"{files.flops_name} + {files.sensitivity_name} could not be used: building the "
        f"problem failed ({type(err).__name__}). Check the numbers in both files."
    )


def _digest(files: DataFiles, ladder: tuple[int, ...], own_formats: bytes) -> str:
    """The hash of what reading the pair depends on: names, reading options, contents, and
    the formats file's contents (a pair of formats only it defines is usable once it is in)."""
    digest = hashlib.sha256(hashlib.sha256(own_formats).digest())
    ladder_text = ",".join(map(str, ladder))
    for part in (files.flops_name, files.sensitivity_name, files.on_mismatch, files.name_prefix,
                 ladder_text):  # fmt: skip
        digest.update(part.encode("utf-8", "replace") + b"\0")
    digest.update(hashlib.sha256(files.flops).digest())
    digest.update(hashlib.sha256(files.sensitivity).digest())
    return digest.hexdigest()


def _set_replacing(value: bool) -> None:
    st.session_state[_REPLACING] = value


def _synthetic_notice(inputs: Inputs) -> None:
    """A short notice (the sidebar is narrow); the file name and the rule in an expander."""
    sens = inputs.sensitivity
    if not sens.synthetic:
        return
    st.warning(
        "**Synthetic sensitivity**: generated by a rule, not measured. Fine for exploring "
        "the tool, not for conclusions about the model.",
        icon=":material/science:",
    )
    box = sections.lazy_expander("About this file", sections.ABOUT)
    if box is not None:
        box.caption(f"File: {plain(sens.source.rsplit('/', 1)[-1])}")
        box.caption(plain(sens.metadata.get("rule", "The file gives no rule.")))


# --- ladder and pins ---------------------------------------------------------------------------


def _pins(names: tuple[str, ...], chosen: Options) -> tuple[Pin, ...]:
    """One box per width of the ladder in use (or weight bits of the formats), while the
    section is open; returns the pins in use."""
    ladder = chosen.pin_widths
    dropped = pins.show(names, ladder)
    # a constant label: Streamlit would take another label for another expander (closed)
    box = sections.lazy_expander("Pinned layers", sections.PINS, icon=":material/push_pin:")
    if box is not None:
        with box:
            _pin_boxes(names, chosen)
    if dropped:  # shown open or closed: the data changed under the pins
        listed = ", ".join(shorten(n, word=40) for n in dropped[:5])
        more = f" and {len(dropped) - 5} more" if len(dropped) > 5 else ""
        st.caption(plain(f"Dropped pins of layers not in these files: {listed}{more}"))
    return pins.in_use(settings.current(), names, ladder)


def _pin_boxes(names: tuple[str, ...], chosen: Options) -> None:
    """Enter adds the first match only (the exact name when there is one): no "select all
    matches" row that Enter would pick."""
    if len(names) > data.MAX_NAME_CHOICES:  # a box listing every name would be megabytes a run
        st.caption(
            f"{len(names):,} layers: pin them from the Layers page (search, then pin the "
            "matches) or with a constraints file's pins."
        )
        return
    what = "width" if chosen.formats is None else "weight width (its formats)"
    st.caption(
        f"Force layers to a {what}. A layer listed under several widths may use any of them. "
        "Enter adds one layer: the name typed, else the first suggestion. To pin every "
        "layer that matches a search, use the Layers page."
    )
    for width in chosen.pin_widths:
        st.multiselect(
            f"Pin to {pin_label(chosen.formats, width)}",
            names,
            key=pins.pin_key(width),
            on_change=pins.from_box,
            args=(width,),
            placeholder="Type a layer name",
            format_func=shorten,
            select_all=False,
        )
