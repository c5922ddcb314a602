"""The budget in use: one float (``budget_exact``) and the one function that writes it.

The slider (``budget``) and the exact box (``budget_text``) only propose values; their
callbacks and every other writer (a link, a sample, the limits table) go through
:func:`set_multiplier`, which sets the budget and both widgets from it, so they always show
the budget in use. ``ui.constraints`` reads it for its budget row; nothing here imports the
other ``ui`` modules (no import circle). Callbacks only set state.
"""

from __future__ import annotations

import math

import streamlit as st

from .text import MULTIPLIER_DECIMALS, multiplier

EXACT, SLIDER, TEXT = "budget_exact", "budget", "budget_text"
DEFAULT = 0.5
DEFAULTS: dict[str, object] = {SLIDER: DEFAULT, EXACT: DEFAULT, TEXT: multiplier(DEFAULT)}
_NOTE = "_budget_note"


def current_multiplier() -> float:
    return float(st.session_state.get(EXACT, DEFAULT))


def set_multiplier(value: float) -> None:
    """The one writer of the budget: the value in use and the two widgets that show it."""
    value = round(float(value), MULTIPLIER_DECIMALS)
    st.session_state[EXACT] = value
    st.session_state[SLIDER] = round(value, 2)
    st.session_state[TEXT] = multiplier(value)
    st.session_state.pop(_NOTE, None)


def parse_multiplier(text: object) -> float:
    """What the exact box or a link proposes, as a multiplier in [0, 1] (6 decimals kept)."""
    raw = str(text).strip()
    if not raw:
        raise ValueError("the exact multiplier is empty")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{raw[:20]!r} is not a number") from None
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{raw[:20]} is outside 0 to 1")
    return round(value, MULTIPLIER_DECIMALS)


def budget_note() -> str | None:
    """Why the last value typed into the exact box was not used (plain text), if it was not."""
    return st.session_state.get(_NOTE)


def sync_from_slider() -> None:
    set_multiplier(float(st.session_state[SLIDER]))


def sync_from_text() -> None:
    """Use what was typed into the exact box if it is a multiplier; else keep the last one."""
    try:
        value = parse_multiplier(st.session_state.get(TEXT, ""))
    except ValueError as err:
        kept = multiplier(current_multiplier())
        st.session_state[TEXT] = kept
        st.session_state[_NOTE] = f"Not used: {err}. The budget stays at {kept}."
        return
    set_multiplier(value)
