"""The app's state: widget keys, their defaults, the URL query string, page-switch survival.

The widgets own the state (each has a key). Three rules keep it consistent:

- on the first run of a session the query string seeds the keys (a link reproduces a view);
- every run re-assigns the keys still in ``st.session_state``: a widget with the same key on
  another page is another widget, and without this its value would fall back to the default;
- after the widgets are read, the state is written back to the query string when it changed.

Callbacks here only set state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import streamlit as st

from mpq_core import ABIT_RULES, DEFAULT_WIDTHS, SAMPLES, SOLVERS, InputError, check_multiplier

UPLOAD = "upload"
SOURCES = (*SAMPLES, UPLOAD)
LADDER_CHOICES = (2, 3, 4, 6, 8, 16)
MAX_WIDTH = 64
PIN_PREFIX = "pin_"
DEFAULTS: dict[str, object] = {
    "source": "sd14",
    "budget": 0.5,
    "budget_exact": 0.5,
    "solver": "greedy",
    "abit_rule": "plus4",
    "discount": 0.2,
    "ladder": list(DEFAULT_WIDTHS),
    "intersect": False,
    "compare": [0.3, 0.5, 0.7],
    "layer_search": "",
    "layer_gains": False,
}
# query parameter -> widget key (pins are "pin4", "pin8" ... -> "pin_4", "pin_8" ...)
PARAMS = {
    "source": "source",
    "budget": "budget_exact",
    "solver": "solver",
    "rule": "abit_rule",
    "discount": "discount",
    "ladder": "ladder",
}
_SEEDED = "_url_seeded"
_URL_NOTES = "_url_notes"


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
    for key in [*DEFAULTS, *_pin_keys()]:
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
    values, notes = parse_query({key: st.query_params.get_all(key) for key in st.query_params})
    for key, value in values.items():
        st.session_state[key] = value
    if "budget_exact" in values:
        st.session_state["budget"] = round(values["budget_exact"], 2)
    st.session_state[_URL_NOTES] = notes


def url_notes() -> list[str]:
    """Messages about query parameters that were ignored (shown once)."""
    return st.session_state.pop(_URL_NOTES, [])


def parse_query(params: Mapping[str, list[str]]) -> tuple[dict[str, object], list[str]]:
    """Query parameters -> (widget key -> value, notes about the ignored ones)."""
    values: dict[str, object] = {}
    notes: list[str] = []

    def last(name: str) -> str:
        return params[name][-1]

    for name in params:
        raw = params[name]
        if not raw:
            continue
        try:
            if name == "budget":
                values["budget_exact"] = check_multiplier(last(name))
            elif name == "solver":
                values["solver"] = _one_of(last(name), SOLVERS, name)
            elif name == "rule":
                values["abit_rule"] = _one_of(last(name), ABIT_RULES, name)
            elif name == "source":
                values["source"] = _one_of(last(name), SOURCES, name)
            elif name == "discount":
                values["discount"] = _discount(last(name))
            elif name == "ladder":
                values["ladder"] = _ladder(last(name))
            elif name.startswith("pin") and name[3:].isdigit():
                values[pin_key(int(name[3:]))] = [n for n in raw if n]
            else:
                notes.append(f"unknown parameter {name!r}")
        except (InputError, ValueError) as err:
            notes.append(f"{name}: {err}")
    return values, notes


def _one_of(value: str, allowed: Iterable[str], name: str) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return value


def _discount(value: str) -> float:
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        raise ValueError(f"must be between 0 and 1, got {value!r}")
    return round(number, 2)


def _ladder(value: str) -> list[int]:
    widths = sorted({int(part) for part in value.split(",") if part.strip()})
    if not widths or not all(1 <= w <= MAX_WIDTH for w in widths):
        raise ValueError(f"widths must be whole numbers from 1 to {MAX_WIDTH}")
    return widths


def query_state() -> dict[str, str | list[str]]:
    """The shareable state as query parameters (pins only for widths on the ladder)."""
    state = st.session_state
    out: dict[str, str | list[str]] = {
        "source": str(state["source"]),
        "budget": f"{float(state['budget_exact']):.6g}",
        "solver": str(state["solver"]),
        "rule": str(state["abit_rule"]),
        "discount": f"{float(state['discount']):g}",
        "ladder": ",".join(str(w) for w in sorted(state["ladder"] or DEFAULT_WIDTHS)),
    }
    for width in sorted(state["ladder"] or DEFAULT_WIDTHS):
        names = state.get(pin_key(width)) or []
        if names:
            out[f"pin{width}"] = list(names)
    return out


def write_url() -> None:
    """Write the state to the query string when it differs from what the URL holds."""
    wanted = query_state()
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    normal = {k: (v if isinstance(v, list) else [v]) for k, v in wanted.items()}
    if current != normal:
        st.query_params.from_dict(wanted)


# --- callbacks (state only) ----------------------------------------------------------------


def sync_exact_from_slider() -> None:
    st.session_state["budget_exact"] = float(st.session_state["budget"])


def sync_slider_from_exact() -> None:
    st.session_state["budget"] = round(float(st.session_state["budget_exact"]), 2)


def set_multiplier(multiplier: float) -> None:
    st.session_state["budget_exact"] = float(multiplier)
    st.session_state["budget"] = round(float(multiplier), 2)


def pin_layers(names: Iterable[str], width: int, ladder: Iterable[int]) -> None:
    """Pin ``names`` to ``width`` alone (removing them from the other widths' lists)."""
    chosen = list(names)
    for w in ladder:
        key = pin_key(w)
        kept = [n for n in st.session_state.get(key, []) if n not in chosen]
        st.session_state[key] = kept + chosen if w == width else kept


def unpin_layers(names: Iterable[str] | None, ladder: Iterable[int]) -> None:
    """Unpin ``names`` (every layer when None)."""
    chosen = None if names is None else set(names)
    for w in ladder:
        key = pin_key(w)
        current = st.session_state.get(key, [])
        st.session_state[key] = [] if chosen is None else [n for n in current if n not in chosen]


def current_multiplier() -> float:
    return float(st.session_state.get("budget_exact", DEFAULTS["budget_exact"]))
