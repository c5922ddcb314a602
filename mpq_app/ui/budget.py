"""The budget's two widgets: the slider (``budget``) and the exact box (``budget_text``).

The budget is the first limit of the settings' spec (``ui.settings``) when that is the BOPs
budget. Both widgets are set from it just before they are drawn (:func:`show`), so they always
show the budget in use; they only propose values. Their callbacks, and every other writer of the
budget alone (the "smallest feasible" button), go through :func:`set_multiplier`, which writes
the spec with ``ui.settings.set_spec``. A value typed into the exact box that is not a
multiplier leaves the budget as it is and says why (:func:`budget_note`). Nothing here imports
``ui`` modules but ``ui.settings`` and ``ui.text`` (no import circle). Callbacks only set state.
"""

from __future__ import annotations

import math

import streamlit as st

from . import settings
from .text import MULTIPLIER_DECIMALS, multiplier

SLIDER, TEXT = "budget", "budget_text"
_NOTE = "_budget_note"


def show() -> float:
    """Set the slider and the exact box from the budget in use (call it just before they
    are drawn); returns that budget."""
    value = settings.multiplier()
    st.session_state[SLIDER] = min(max(round(value, 2), 0.0), 1.0)
    st.session_state[TEXT] = multiplier(value)
    return value


def set_multiplier(value: float) -> None:
    """Put the budget at ``value`` (6 decimals kept) and drop the exact box's last note."""
    settings.set_spec(settings.at_budget(settings.current(), value))
    clear_note()


def clear_note() -> None:
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
    """Use what was typed into the exact box if it is a multiplier; else keep the budget (the
    box shows it again on the next run)."""
    try:
        value = parse_multiplier(st.session_state.get(TEXT, ""))
    except ValueError as err:
        kept = multiplier(settings.multiplier())
        st.session_state[_NOTE] = f"Not used: {err}. The budget stays at {kept}."
        return
    set_multiplier(value)
