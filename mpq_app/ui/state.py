"""The app's state: the settings, the app's own widget keys, the URL query string, samples.

Four rules keep it consistent:

- the settings are one frozen ``Spec`` in ``st.session_state["spec"]`` with one writer,
  ``ui.settings.set_spec``; the widgets that show them (solver, cost model, ladder, pin
  boxes, the budget's slider and exact box, the limits table and sliders) are set from it just
  before they are drawn, and their callbacks write it (a value it refuses leaves it as it was);
- on the first run of a session the query string seeds the spec and the app's own keys (a
  link reproduces a view);
- every run re-assigns the app's own widget keys still in ``st.session_state`` (data source,
  name prefix, compared budgets, ...): a widget with the same key on another page is another
  widget, and without this its value would fall back to the default;
- after the page is built, the spec *in use* (the settings as the loaded data takes them) is
  written back to the query string with ``Spec.to_query``, with the app's own parameters
  (:func:`query_state`, the one place).

Choosing a bundled sample sets the spec to the sample's own (``apply_sample``: ladder, cost
model, pins, constraints, solver). A link written by the app holds every setting (it always
has a ``ladder``) and is applied over the defaults; a shorter link that names a sample
(``?source=mixdq_sdxl_turbo``) is applied over the sample's settings. ``pins=sample`` stands
for the sample's own pins (hundreds of layers for MixDQ).

A link's settings are read by ``mpq_core.model.spec_url`` (the same reading as everywhere else) and
bounded here, before anything is computed, by what the app takes (at most ``APP_MAX_LADDER``
widths, two to four compared budgets). Callbacks here only set state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

import streamlit as st

from mpq_core import DEFAULT_WIDTHS, SAMPLES, InputError, spec_from_query
from mpq_core.model.spec_url import BY_NAME, SPEC_PARAMETERS, is_pin_parameter

from . import pins, sections, settings
from .budget import parse_multiplier
from .constraints import apply_constraints
from .text import MULTIPLIER_DECIMALS

if TYPE_CHECKING:
    from mpq_core import Spec

__all__ = ["parse_multiplier"]  # read by the tests from here, where links are read


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
DEFAULTS: dict[str, object] = {  # the app's own widget keys (the settings are a Spec)
    "source": "sd14",
    "intersect": False,
    "layer_search": "",
    "layer_gains": False,
    "name_prefix": "",
}
LIMIT_PARAMS = ("limit", "group", "tie")  # read together: a limit may name a group
FORMAT_PARAMS = ("formats", "space")  # read together: a search space names formats
_REPEATED = (*LIMIT_PARAMS, "space")  # parameters written as lists (and pin<width>)
# widget keys re-assigned on every run (the sidebar sections open or closed among them)
KEPT = (*DEFAULTS, *sections.OPEN, "compare", "layers_pin_width")
_SEEDED = "_url_seeded"
_URL_NOTES = "_url_notes"
_COMPARE_CHOSEN = "_compare_chosen"  # the user (or a link) chose the compared budgets
UPLOAD_FROM_LINK = "_upload_from_link"  # the first run's link asked for uploaded files
SAMPLE_PINS = "sample"  # ``pins=sample``: the bundled sample's own pins


def keep_widget_state() -> None:
    """Re-assign the app's own keys so that this page's widgets start from the shared value."""
    for key in KEPT:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def seed_defaults() -> None:
    """The app's own keys a session starts with: the data source is the pair ``mpq app``
    was given, if any, else the SD 1.4 sample (a link's source comes first)."""
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = UPLOAD if key == "source" and _given() else value


def _given() -> bool:
    from .data import given_paths  # not at import: ui.data sets up Streamlit's caches

    return bool(given_paths())


def seed_from_url() -> None:
    """On the first run of a session, set the spec and the app's keys from the query string."""
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    values, notes = parse_query(params)
    source = values.pop("source", None)
    written = params.get("ladder") or params.get("formats")
    if source in SAMPLES and not written:  # not written by the app: a short link
        apply_sample(str(source))
    if values.pop("pins", None) == SAMPLE_PINS:
        if source in SAMPLES:
            pins.set_pins(_sample_spec(str(source)).pins)
        else:
            notes.append("pins: 'sample' needs a bundled sample as the data source")
    constraints = values.pop("constraints", None)
    if constraints is not None:
        apply_constraints(constraints)
    settings.set_spec(_link_spec(settings.current(), values, notes))
    _seed_app_keys(source, values)
    st.session_state[_URL_NOTES] = notes


def _seed_app_keys(source: object, values: dict[str, object]) -> None:
    """The app's own keys a link sets: data source, compared budgets, name prefix."""
    for key, value in values.items():
        st.session_state[key] = value
    if source is not None:
        st.session_state["source"] = source
    if "compare" in values:
        st.session_state[_COMPARE_CHOSEN] = True
    st.session_state[UPLOAD_FROM_LINK] = source == UPLOAD


def _link_spec(spec: Spec, values: dict[str, object], notes: list[str]) -> Spec:
    """``spec`` with what a link's values set, as their widgets would set it: each pin box
    replaces its width's layers, and the budget its value (the values used are taken out)."""
    for key in [k for k in values if k in settings.BINDINGS]:
        spec = settings.changed(spec, key, values.pop(key))
    for key in [k for k in values if pins.width_of_key(k) is not None]:
        width = pins.width_of_key(key)
        spec = replace(spec, pins=pins.with_width(spec.pins, width, values.pop(key)))
    if "budget" in values:
        spec = settings.at_budget(spec, float(values.pop("budget")))
    if "search_spaces" in values:
        spec = _with_spaces(spec, values.pop("search_spaces"), notes)
    return spec


def _with_spaces(spec: Spec, spaces: tuple, notes: list[str]) -> Spec:
    """``spec`` with a link's search spaces, when its options are formats (else a note)."""
    try:
        return replace(spec, search_spaces=spaces)
    except InputError as err:
        notes.append(f"space: {err.problem}")
        return spec


def url_notes() -> list[str]:
    """Messages about query parameters that were ignored (shown once; plain text)."""
    return st.session_state.pop(_URL_NOTES, [])


def parse_query(params: Mapping[str, list[str]]) -> tuple[dict[str, object], list[str]]:
    """Query parameters -> (the value each sets, by the key of the widget that shows it, and
    ``constraints`` for the limits, groups and ties; notes about the ignored ones).

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

    if params.get("formats") or params.get("space"):
        values |= _formats_values(params, notes)
    for name, raw in params.items():
        if name in (*LIMIT_PARAMS, *FORMAT_PARAMS) or not raw:
            continue
        try:
            values |= _read_parameter(name, raw, notes)
        except ValueError as err:
            notes.append(f"{name}: {err}")
    return values, notes


def _formats_values(params: Mapping[str, list[str]], notes: list[str]) -> dict[str, object]:
    """The formats of a link and their search spaces, read together (a search space names
    formats): the format picker's names and the spaces."""
    if not params.get("formats"):  # the spaces of a sample's formats (a short link)
        try:
            spaces = BY_NAME["space"].read(params["space"])["search_spaces"]
        except ValueError as err:
            notes.append(f"space: {err}")
            return {}
        return {"search_spaces": tuple(spaces)}
    read = {name: params[name] for name in FORMAT_PARAMS if params.get(name)}
    spec, spec_notes = spec_from_query(read)
    notes += spec_notes
    if spec.formats is None:
        return {}
    return {"formats": [f.name for f in spec.formats], "search_spaces": spec.search_spaces}


def _read_parameter(name: str, raw: list[str], notes: list[str]) -> dict[str, object]:
    """The values one parameter sets: a Spec's (read by ``Spec.from_query``, each on its own)
    or the app's own (source, compare, prefix, pins=sample)."""
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
    """The value a spec read from the single parameter ``name`` sets, by the key of the
    widget that shows it (``budget``: the multiplier, 6 decimals kept)."""
    if name == "budget":
        return {"budget": round(float(spec.limits[0].multiplier), MULTIPLIER_DECIMALS)}
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
    if name == "tie_fused":
        return {"tie_fused_box": spec.tie_fused}
    width = int(name[3:])  # pin<width>
    return {pins.pin_key(width): [pin.layer for pin in spec.pins]}


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
        st.session_state["compare"] = compare_default(settings.multiplier())
    return list(st.session_state["compare"])


def query_state(settings_in_use: Settings) -> dict[str, str | list[str]]:
    """The settings in use as query parameters: the spec's as ``Spec.to_query`` writes them
    (with its defaults: an app link always holds the ladder), and the app's own (source,
    ``pins=sample``, prefix, compared budgets)."""
    state = st.session_state
    spec, source = settings_in_use.spec, settings_in_use.source
    sample_pins = _sample_pins(source, spec)
    written = (replace(spec, pins=()) if sample_pins else spec).to_query(full=True)
    out: dict[str, str | list[str]] = {"source": source}
    out |= {k: v if k in _REPEATED or is_pin_parameter(k) else v[-1] for k, v in written.items()}
    if sample_pins:
        out["pins"] = SAMPLE_PINS
    if state.get("name_prefix"):
        out["prefix"] = str(state["name_prefix"])
    if state.get(_COMPARE_CHOSEN) and state.get("compare"):
        out["compare"] = ",".join(f"{m:g}" for m in sorted(state["compare"]))
    return out


def _sample_pins(source: str, spec: Spec) -> bool:
    """The pins in use are the bundled sample's own (and there are some)."""
    if source not in SAMPLES or not spec.pins:
        return False
    own = {pin.layer: pin.widths for pin in _sample_spec(source).pins}
    return {pin.layer: pin.widths for pin in spec.pins} == own


def write_url(settings_in_use: Settings) -> None:
    """Write the settings in use to the query string when it differs from what the URL holds."""
    wanted = query_state(settings_in_use)
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
    spec = _sample_settings(key)
    settings.set_spec(spec)
    apply_constraints(spec.constraints)  # bounded as the app takes them, the tables re-keyed


def _sample_settings(key: str) -> Spec:
    """The bundled sample's spec as the app opens it (its ladder, else the default one)."""
    spec = _sample_spec(key)
    if spec.formats is not None:
        return spec
    return replace(spec, ladder=spec.ladder or tuple(DEFAULT_WIDTHS))


def _sample_spec(key: str) -> Spec:
    from .data import sample_spec  # not at import: ui.data sets up Streamlit's caches

    return sample_spec(key)
