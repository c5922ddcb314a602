"""Sidebar sections whose contents are made only while they are open.

Streamlit makes a closed expander's contents on every run and sends them, and the browser
loads and draws them though no one sees them: a data editor's grid (its module alone is about
1.5 MB of JavaScript), file uploaders, multiselects listing every layer. On the first load of
the Budget explorer that work held the page's main thread before Plotly.js could run
(``docs/performance.md``, "First load"). A section here reruns the page when it is opened or
closed and makes its contents only while it is open, or while it holds something in use that
must stay mounted to stay in use (an uploaded file lives in its uploader).

What the contents edit lives in the settings (``ui.settings``), not in their widgets, so a
closed section changes nothing in force; its widgets start again from the settings when it
opens. Whether each section is open is kept for the session (``OPEN``, re-assigned on every
run as the app's other keys are).
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

ABOUT = "about_open"  # the synthetic data's file and rule
PINS = "pins_open"  # the pin boxes
LIMITS = "limits_open"  # the limits table
CONSTRAINTS = "constraints_open"  # groups, ties, search spaces and the files
OPEN = (ABOUT, PINS, LIMITS, CONSTRAINTS)


def lazy_expander(
    label: str, key: str, *, icon: str | None = None, expanded: bool = False, keep: bool = False
) -> DeltaGenerator | None:
    """An expander to draw the contents into when it is open (or ``keep``), else None."""
    box = st.expander(label, expanded=expanded, key=key, icon=icon, on_change="rerun")
    return box if box.open or keep else None


def lazy_toggle(label: str, key: str, *, help: str | None = None) -> bool:
    """A switch in front of contents drawn at the sidebar's full width (an expander's padding
    would narrow a table sized for it): whether to draw them."""
    return st.toggle(label, key=key, help=help)
