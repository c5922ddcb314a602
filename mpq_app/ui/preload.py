"""The code of the elements the other pages show, loaded while the page is idle.

Streamlit's page loads the code of an element type (Plotly charts, metrics, checkboxes, code
blocks) the first time a page shows one. Plotly's takes about 0.6 s to load and run on a
2-core machine, and the first switch to Compare budgets waited for it. Every page asks the
browser to load these modules once it is idle (and a second after the user's last key or
pointer press); the browser keeps one copy of a module, so the switch finds it ready.

The modules are found by name among Streamlit's own static files; an element whose module is
not there (another Streamlit version) is skipped, and the page then loads it as before.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import streamlit as st
from streamlit.components.v2 import component

from .js_bundle import bundle

# Streamlit's module per element type that a page other than the Budget explorer shows (or
# that the explorer's sidebar shows only once a section is opened: ui/sections.py)
ELEMENTS = (
    "PlotlyChart",
    "Metric",
    "Checkbox",
    "StreamlitSyntaxHighlighter",
    "Multiselect",
    "DataFrame",
    "FileUploader",
)
_STATIC = Path(st.__file__).parent / "static" / "static" / "js"
_KEY = "preload_modules"

_preload = component(
    "mpq_preload",
    js=bundle("preload.js"),  # ui/live_js/preload.js with what it imports
    css=f".st-key-{_KEY} {{ display: none; }}",  # draws nothing: no row, no gap
    isolate_styles=False,
)


@cache
def module_names(folder: Path = _STATIC) -> tuple[str, ...]:
    """The file names of the ``ELEMENTS``' modules in ``folder`` (one each, else none)."""
    names = []
    for element in ELEMENTS:
        found = sorted(folder.glob(f"{element}.*.js"))
        if len(found) == 1:
            names.append(found[0].name)
    return tuple(names)


def page_modules() -> None:
    """Mount the preloading element (on every page: whichever opens first)."""
    names = module_names()
    if names:
        _preload(key=_KEY, data={"modules": list(names)})
