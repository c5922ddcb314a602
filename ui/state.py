"""The app's state: widget keys, their defaults, the URL query string, page-switch survival.

The widgets own the state (each has a key). Four rules keep it consistent:

- on the first run of a session the query string seeds the keys (a link reproduces a view);
- every run re-assigns the keys still in ``st.session_state``: a widget with the same key on
  another page is another widget, and without this its value would fall back to the default;
- the budget in use is one float (``ui.budget``), not a widget: the slider and the exact
  box only propose values, and a proposal that is not a multiplier leaves it unchanged;
- after the page is built, the settings *in use* are written back to the query string.

Choosing a bundled sample sets every setting to the sample's own (``apply_sample``: ladder,
cost model, pins, constraints, solver). A link written by the app holds every setting (it
always has a ``ladder``) and is applied over the defaults; a shorter link that names a sample
(``?source=mixdq_sdxl_turbo``) is applied over the sample's settings. ``pins=sample`` stands
for the sample's own pins (hundreds of layers for MixDQ).

A link's settings are read by ``mpq_core.model.spec_url`` (the same reading as everywhere else) and
bounded here, before anything is computed, by what the app takes (at most ``APP_MAX_LADDER``
widths, two to four compared budgets). Callbacks here only set state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import streamlit as st

from mpq_core import DEFAULT_WIDTHS, SAMPLES, Limit, spec_from_query
from mpq_core.model.spec_url import SPEC_PARAMETERS, is_pin_parameter

from . import budget
from .budget import (  # the budget's state, as the pages have always called it
    budget_note,
    current_multiplier,
    parse_multiplier,
    set_multiplier,
    sync_from_slider,
    sync_from_text,
)
from .constraints import apply_constraints
from .text import MULTIPLIER_DECIMALS

if TYPE_CHECKING:
    from mpq_core import Pin, Spec

__all__ = [
    "budget_note",
    "current_multiplier",
    "parse_multiplier",
    "set_multiplier",
    "sync_from_slider",
    "sync_from_text",
]


class Settings(Protocol):
    """What the URL is written from (``ui.sidebar.Settings``): the source and the spec."""

    source: str
    spec: Spec


UPLOAD = "upload"
SOURCES = (*SAMPLES, UPLOAD)
LADDER_CHOICES = (2, 3, 4, 6, 8, 16)
# widths per ladder in the app (fewer than the engine's MAX_LADDER): the exact sweep behind
# every view grows fast with the ladder's length
APP_MAX_LADDER = 8
COMPARE_MIN, COMPARE_MAX = 2, 4
PIN_PREFIX = "pin_"
DEFAULTS: dict[str, object] = {
    "source": "sd14",
    **budget.DEFAULTS,
    "solver": "greedy",
    "abit_rule": "plus4",
    "discount": 0.2,
    "ladder": list(DEFAULT_WIDTHS),
    "intersect": False,
    "layer_search": "",
    "layer_gains": False,
    "sense": "file",
    "name_prefix": "",
}
LIMIT_PARAMS = ("limit", "group", "tie")  # read together: a limit may name a group
_REPEATED = LIMIT_PARAMS  # parameters written as lists (and pin<width>)
KEPT = (*DEFAULTS, "compare", "layers_pin_width")  # widget keys re-assigned on every run
_SEEDED = "_url_seeded"
_URL_NOTES = "_url_notes"
_COMPARE_CHOSEN = "_compare_chosen"  # the user (or a link) chose the compared budgets
UPLOAD_FROM_LINK = "_upload_from_link"  # the first run's link asked for uploaded files
SAMPLE_PINS = "sample"  # ``pins=sample``: the bundled sample's own pins


def pin_key(width: int) -> str:
    return f"{PIN_PREFIX}{width}"


def _pin_keys() -> list[str]:
    return [
        k
        for k in st.session_state
        if isinstance(k, str) and k.startswith(PIN_PREFIX) and k[len(PIN_PREFIX) :].isdigit()
    ]


def keep_widget_state() -> None:
    """Re-assign every app key so that this page's widgets start from the shared value."""
    for key in [*KEPT, *_pin_keys()]:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def seed_defaults() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = list(value) if isinstance(value, list) else value


def seed_from_url() -> None:
    """On the first run of a session, copy valid query parameters into the widget keys."""
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notes = parse_query(params)
    source = values.get("source")
    if source in SAMPLES and not params.get("ladder"):  # not written by the app: a short link
        apply_sample(str(source))
    if values.pop("pins", None) == SAMPLE_PINS:
        if source in SAMPLES:
            set_pins(_sample_spec(str(source)).pins)
        else:
            notes.append("pins: 'sample' needs a bundled sample as the data source")
    constraints = values.pop("constraints", None)
    if constraints is not None:
        apply_constraints(constraints)
    budget_value = values.pop(budget.EXACT, None)
    for key, value in values.items():
        st.session_state[key] = value
    if budget_value is not None:
        set_multiplier(budget_value)
    if "compare" in values:
        st.session_state[_COMPARE_CHOSEN] = True
    st.session_state[UPLOAD_FROM_LINK] = values.get("source") == UPLOAD
    st.session_state[_URL_NOTES] = notes


def url_notes() -> list[str]:
    """Messages about query parameters that were ignored (shown once; plain text)."""
    return st.session_state.pop(_URL_NOTES, [])


def parse_query(params: Mapping[str, list[str]]) -> tuple[dict[str, object], list[str]]:
    """Query parameters -> (widget key -> value, notes about the ignored ones).

    Each setting is read on its own by :func:`mpq_core.spec_from_query` (one unreadable
    setting leaves the others applied); the limits, groups and ties are read together.
    """
    values: dict[str, object] = {}
    notes: list[str] = []
    limits = {name: params[name] for name in LIMIT_PARAMS if params.get(name)}
    if limits:
        if params.get("budget"):
            limits["budget"] = params["budget"]  # the first limit, before the others
        spec, spec_notes = spec_from_query(limits)
        notes += spec_notes
        values["constraints"] = spec.constraints

    for name, raw in params.items():
        if name in LIMIT_PARAMS or not raw:
            continue
        try:
            values |= _read_parameter(name, raw, notes)
        except ValueError as err:
            notes.append(f"{name}: {err}")
    return values, notes


def _read_parameter(name: str, raw: list[str], notes: list[str]) -> dict[str, object]:
    """The widget keys one parameter sets: a Spec's (read by ``Spec.from_query``, each on
    its own) or the app's own (source, compare, prefix, pins=sample)."""
    if name in SPEC_PARAMETERS or is_pin_parameter(name):
        spec, spec_notes = spec_from_query({name: raw})
        notes += spec_notes
        return {} if spec_notes else _widget_values(name, spec)
    read = _APP_PARAMETERS.get(name)
    if read is None:
        notes.append(f"unknown parameter {name[:40]!r}")
        return {}
    return read(raw[-1])


def _source(last: str) -> dict[str, object]:
    if last not in SOURCES:
        raise ValueError(f"{last[:40]!r} is not one of {', '.join(SOURCES)}")
    return {"source": last}


def _sample_pins_parameter(last: str) -> dict[str, object]:
    if last != SAMPLE_PINS:
        raise ValueError(f"{last[:40]!r} is not {SAMPLE_PINS!r}")
    return {"pins": SAMPLE_PINS}


_APP_PARAMETERS = {  # the app's own parameters (not a Spec's): the widget keys each sets
    "source": _source,
    "compare": lambda last: {"compare": _compare(last)},
    "prefix": lambda last: {"name_prefix": last[:64]},
    "pins": _sample_pins_parameter,
}


def _widget_values(name: str, spec: Spec) -> dict[str, object]:
    """The widget keys a spec read from the single parameter ``name`` sets."""
    if name == "budget":
        return {budget.EXACT: round(float(spec.multiplier), MULTIPLIER_DECIMALS)}
    if name == "solver":
        return {"solver": spec.solver}
    if name == "rule":
        return {"abit_rule": spec.abit_rule}
    if name == "discount":
        return {"discount": round(spec.upgrade_discount, 2)}
    if name == "sense":
        return {"sense": spec.sense}
    if name == "ladder":
        if len(spec.ladder) > APP_MAX_LADDER:
            raise ValueError(
                f"the app takes at most {APP_MAX_LADDER} widths, got {len(spec.ladder)}"
            )
        return {"ladder": list(spec.ladder)}
    width = int(name[3:])  # pin<width>
    return {pin_key(width): [pin.layer for pin in spec.pins]}


def _compare(value: str) -> list[float]:
    parts = [part for part in value.split(",") if part.strip()]
    if not COMPARE_MIN <= len(parts) <= COMPARE_MAX:
        raise ValueError(f"give {COMPARE_MIN} to {COMPARE_MAX} multipliers, got {len(parts)}")
    return sorted({parse_multiplier(part) for part in parts})


def compare_default(current: float) -> list[float]:
    """The current budget and two neighbours 0.2 (else 0.4) away, inside 0..1."""
    steps = (-0.2, 0.2, -0.4, 0.4)
    near = [round(current + s, 2) for s in steps if 0.0 <= round(current + s, 2) <= 1.0]
    return sorted([current, *[m for m in near if m != current][:2]])


def compare_choices() -> list[float]:
    """Seed the compared budgets from the current one until the user picks their own."""
    if not st.session_state.get(_COMPARE_CHOSEN) or "compare" not in st.session_state:
        st.session_state["compare"] = compare_default(current_multiplier())
    return list(st.session_state["compare"])


def query_state(settings: Settings) -> dict[str, str | list[str]]:
    """The settings in use as query parameters: the spec's as ``Spec.to_query`` writes them
    (with its defaults: an app link always holds the ladder), and the app's own (source,
    ``pins=sample``, prefix, compared budgets)."""
    state = st.session_state
    spec = spec_in_use(settings)
    if _sample_pins(settings):
        spec = replace(spec, pins=())
    written = spec.to_query(full=True)
    out: dict[str, str | list[str]] = {"source": settings.source}
    out |= {k: v if k in _REPEATED or is_pin_parameter(k) else v[-1] for k, v in written.items()}
    if not spec.pins and settings.spec.pins:
        out["pins"] = SAMPLE_PINS
    if state.get("name_prefix"):
        out["prefix"] = str(state["name_prefix"])
    if state.get(_COMPARE_CHOSEN) and state.get("compare"):
        out["compare"] = ",".join(f"{m:g}" for m in sorted(state["compare"]))
    return out


def spec_in_use(settings: Settings) -> Spec:
    """The settings' spec with the budget in use: a rerun of the budget's fragment moves the
    budget without drawing the sidebar again, so its spec may hold an earlier one."""
    spec = settings.spec
    limits = spec.constraints.limits
    if limits and limits[0].is_budget:
        return spec.with_limits((Limit.budget(current_multiplier()), *limits[1:]))
    return spec


def _sample_pins(settings: Settings) -> bool:
    """The pins in use are the bundled sample's own (and there are some)."""
    pins = settings.spec.pins
    if settings.source not in SAMPLES or not pins:
        return False
    own = {pin.layer: pin.widths for pin in _sample_spec(settings.source).pins}
    return {pin.layer: pin.widths for pin in pins} == own


def write_url(settings: Settings) -> None:
    """Write the settings in use to the query string when it differs from what the URL holds."""
    wanted = query_state(settings)
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    normal = {k: (v if isinstance(v, list) else [v]) for k, v in wanted.items()}
    if current != normal:
        st.query_params.from_dict(wanted)


def choose_compare() -> None:
    st.session_state[_COMPARE_CHOSEN] = True


def choose_source() -> None:
    """A bundled sample was chosen: every setting becomes the sample's own."""
    source = st.session_state.get("source")
    if source in SAMPLES:
        apply_sample(source)


def apply_sample(key: str) -> None:
    """Set the ladder, cost model, pins, constraints and solver to what the bundled sample
    ``key`` opens with (its command in the README)."""
    spec = _sample_spec(key)
    st.session_state["ladder"] = list(spec.ladder or DEFAULT_WIDTHS)
    st.session_state["abit_rule"] = spec.abit_rule
    st.session_state["discount"] = spec.upgrade_discount
    st.session_state["sense"] = spec.sense or "file"
    st.session_state["solver"] = spec.solver
    set_pins(spec.pins)
    apply_constraints(spec.constraints)


def set_pins(pins: Iterable[Pin]) -> None:
    """Replace every pin with ``pins`` (a layer with several widths is listed under each)."""
    unpin_layers(None)
    lists: dict[str, list[str]] = {}
    for pin in pins:
        for width in pin.widths:
            lists.setdefault(pin_key(width), []).append(pin.layer)
    for key, names in lists.items():
        st.session_state[key] = names


def _sample_spec(key: str) -> Spec:
    from .data import sample_spec  # not at import: ui.data sets up Streamlit's caches

    return sample_spec(key)


def pin_layers(names: Iterable[str], width: int) -> None:
    """Pin ``names`` to ``width`` alone (removing them from every other width's list)."""
    chosen = list(names)
    picked = set(chosen)
    key = pin_key(width)
    for other in {*_pin_keys(), key}:
        kept = [n for n in st.session_state.get(other, []) if n not in picked]
        st.session_state[other] = kept + chosen if other == key else kept


def unpin_layers(names: Iterable[str] | None) -> None:
    """Unpin ``names`` (every layer when None), whatever width they are pinned to."""
    chosen = None if names is None else set(names)
    for key in _pin_keys():
        current = st.session_state.get(key, [])
        st.session_state[key] = [] if chosen is None else [n for n in current if n not in chosen]
