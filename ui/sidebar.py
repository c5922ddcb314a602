"""The shared sidebar: data source, solver, cost-model settings and pins, as one Settings value."""

from __future__ import annotations

from dataclasses import dataclass, field

import streamlit as st

from mpq_core import ABIT_RULES, DEFAULT_WIDTHS, SAMPLES, SOLVER_LABELS, SOLVERS, InputError, Inputs

from . import state
from .data import DataFiles, Pins, ProblemSettings, cached_inputs, sample_files

SOURCE_LABELS = {
    "sd14": "SD 1.4 UNet sample (scalar sensitivity)",
    "sd14_per_bit": "SD 1.4 UNet sample (per-bit losses)",
    "minilm": "MiniLM-L6 sample (measured per-bit losses)",
    state.UPLOAD: "Upload a Phase 1 and a Phase 2 file",
}
RULE_LABELS = {"plus4": "A = min(W + 4, 16)", "match": "A = W"}
_GOOD = "_data_good"
_GOOD_UPLOAD = "_upload_good"


@dataclass(frozen=True)
class Settings:
    """What the sidebar's widgets say, validated against the loaded data."""

    source: str
    solver: str
    abit_rule: str
    discount: float
    ladder: tuple[int, ...]
    pins: Pins = ()

    def problem_settings(self) -> ProblemSettings:
        return ProblemSettings(self.ladder, self.abit_rule, self.discount, self.pins)


@dataclass(frozen=True)
class LoadedData:
    """The files in use, parsed, with what went wrong on the way (shown by the page)."""

    files: DataFiles
    inputs: Inputs
    origin: str
    errors: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def sidebar() -> tuple[Settings, LoadedData]:
    """Render the sidebar; return the settings and the data they apply to."""
    with st.sidebar:
        st.subheader("Data")
        source = st.radio(
            "Data source",
            state.SOURCES,
            format_func=SOURCE_LABELS.get,
            key="source",
            label_visibility="collapsed",
        )
        loaded = _load(source)
        _synthetic_notice(loaded.inputs)

        st.subheader("Solver")
        solver = st.radio(
            "Solver",
            list(SOLVERS),
            format_func=lambda s: SOLVER_LABELS.get(s, s),
            key="solver",
            label_visibility="collapsed",
        )

        st.subheader("Cost model")
        sens = loaded.inputs.sensitivity
        rule = st.radio(
            "Activation bits",
            ABIT_RULES,
            format_func=RULE_LABELS.get,
            key="abit_rule",
            horizontal=True,
            help="Activation width that goes with each weight width; cost = MACs x W x A.",
        )
        discount = st.slider(
            "Upgrade discount",
            min_value=0.0,
            max_value=1.0,
            step=0.05,
            key="discount",
            disabled=sens.kind == "per_bit",
            help="Scalar scores only: the step to the j-th width gains score x discount^(j-1) "
            "(4->8 gains the score, 8->16 gains 0.2 x score by default).",
        )
        ladder = _ladder(sens)
        pins = _pins(loaded.inputs.layers.names, ladder)

    settings = Settings(
        source=source,
        solver=solver,
        abit_rule=rule,
        discount=round(float(discount), 4),
        ladder=ladder,
        pins=pins,
    )
    return settings, loaded


# --- data source -----------------------------------------------------------------------------


def _load(source: str) -> LoadedData:
    if source in SAMPLES:
        files = sample_files(source)
        try:
            inputs = cached_inputs(files)
        except InputError as err:  # a broken checkout; nothing better to fall back on
            st.error(str(err))
            st.stop()
        st.session_state[_GOOD] = files
        return LoadedData(files, inputs, SAMPLES[source].title)

    flops = st.file_uploader(
        "Phase 1: MACs / FLOPs per layer (JSON)", type=["json"], key="upload_flops"
    )
    sens = st.file_uploader(
        "Phase 2: sensitivity per layer (JSON)", type=["json"], key="upload_sensitivity"
    )
    intersect = st.checkbox(
        "Keep only the layers found in both files",
        key="intersect",
        help="Otherwise files that name different layers are rejected.",
    )
    if flops is not None and sens is not None:
        files = DataFiles(
            flops.name,
            flops.getvalue(),
            sens.name,
            sens.getvalue(),
            "intersect" if intersect else "error",
        )
        try:
            inputs = cached_inputs(files)
        except InputError as err:
            return _fallback(st.session_state.get(_GOOD), errors=(str(err),))
        st.session_state[_GOOD] = files
        st.session_state[_GOOD_UPLOAD] = files
        return LoadedData(files, inputs, f"uploaded: {flops.name} + {sens.name}")
    previous = st.session_state.get(_GOOD_UPLOAD) or st.session_state.get(_GOOD)
    return _fallback(previous, notes=("Upload both files to use them.",))


def _fallback(
    previous: DataFiles | None, *, errors: tuple[str, ...] = (), notes: tuple[str, ...] = ()
) -> LoadedData:
    """Keep showing the last data that loaded (the default sample if none did)."""
    files = previous if previous is not None else sample_files("sd14")
    inputs = cached_inputs(files)
    origin = (
        f"{files.flops_name} + {files.sensitivity_name}"
        if previous is not None
        else SAMPLES["sd14"].title
    )
    kept = f"Still showing the previous data ({origin})."
    return LoadedData(files, inputs, origin, errors=errors, notes=(*notes, kept))


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
    with st.expander("About this file"):
        st.caption(f"File: {sens.source.rsplit('/', 1)[-1]}")
        st.caption(str(sens.metadata.get("rule", "The file gives no rule.")))


# --- ladder and pins ---------------------------------------------------------------------------


def _ladder(sens) -> tuple[int, ...]:
    options = sorted({*state.LADDER_CHOICES, *sens.widths, *st.session_state.get("ladder", [])})
    chosen = st.pills(
        "Width ladder (bits)",
        options,
        selection_mode="multi",
        key="ladder",
        help="The weight widths each layer may take.",
    )
    if not chosen:
        st.caption(f"No width chosen: using {'/'.join(map(str, DEFAULT_WIDTHS))}.")
        return tuple(DEFAULT_WIDTHS)
    return tuple(sorted(int(w) for w in chosen))


def _pins(names: tuple[str, ...], ladder: tuple[int, ...]) -> Pins:
    known = set(names)
    dropped: list[str] = []
    for width in ladder:
        key = state.pin_key(width)
        current = st.session_state.get(key, [])
        valid = [n for n in current if n in known]
        dropped += [n for n in current if n not in known]
        if valid != current or key not in st.session_state:
            st.session_state[key] = valid
    allowed: dict[str, list[int]] = {}
    with st.expander("Pinned layers", icon=":material/push_pin:"):
        st.caption(
            "Force layers to a width. A layer listed under several widths may use any of them."
        )
        for width in ladder:
            chosen = st.multiselect(
                f"Pin to {width} bits",
                names,
                key=state.pin_key(width),
                placeholder="Choose layers",
            )
            for name in chosen:
                allowed.setdefault(name, []).append(width)
        if dropped:
            st.caption(f"Dropped pins of layers not in these files: {', '.join(dropped[:5])}")
    order = {name: i for i, name in enumerate(names)}
    return tuple(
        (name, tuple(sorted(allowed[name]))) for name in sorted(allowed, key=order.__getitem__)
    )
