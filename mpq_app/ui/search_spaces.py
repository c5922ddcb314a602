"""Search spaces in the Constraints section: per layer pattern, the formats its layers may take.

Shown only while the options are formats. The rows are the settings' ``Spec.search_spaces``
(the command line's ``--search_spaces``; a link's ``space=PATTERN:FMT|FMT``). An edit is
checked as the engine checks it (:func:`mpq_core.model.problem.search_space_options`: every
format among those in use, every pattern matching a layer no earlier pattern took) before it
is put in force; an edit that fails leaves the search spaces in force as they are and says
why, naming the pattern.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from mpq_core import InputError
from mpq_core.model.formats import Format
from mpq_core.model.problem import search_space_options

from . import settings
from .text import plain

_SEPARATORS = re.compile(r"[\s,|]+")

Spaces = tuple[tuple[str, tuple[str, ...]], ...]


def search_spaces_editor(
    names: tuple[str, ...], formats: tuple[Format, ...], key: str
) -> list[str]:
    """The table of search spaces (widget ``key``: re-keyed with the section's other tables);
    returns why an edit was not used (plain text)."""
    st.markdown(
        "**Search spaces** · the formats the layers of a pattern may take (the first pattern "
        "a layer matches; other layers take every format)"
    )
    current = settings.current().search_spaces
    frame = pd.DataFrame(
        [{"pattern": p, "formats": " ".join(chosen)} for p, chosen in current],
        columns=["pattern", "formats"],
    )
    edited = st.data_editor(
        frame,
        key=key,
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "pattern": st.column_config.TextColumn(
                "pattern", required=True, max_chars=200, help="a name or shell pattern (*.attn*)"
            ),
            "formats": st.column_config.TextColumn(
                "formats", required=True, help="format names, space-separated: fp8 bf16"
            ),
        },
    )
    spaces = _rows(edited)
    try:
        allowed = search_space_options(spaces, formats, names)
    except InputError as err:
        return [f"{err}. The search spaces in force stay."]
    if spaces != current:
        settings.update(search_spaces=spaces)
    if spaces:
        fixed = int((allowed.sum(axis=1) == 1).sum())
        st.caption(plain(f"{int((~allowed.all(axis=1)).sum())} layers restricted, {fixed} fixed "
                         "to one format (fixed layers count in every limit)."))  # fmt: skip
    return []


def _rows(edited: pd.DataFrame) -> Spaces:
    """The filled rows as (pattern, formats) pairs, in table order."""
    out = []
    for record in edited.to_dict("records"):
        pattern = str(record.get("pattern") or "").strip()
        chosen = tuple(n for n in _SEPARATORS.split(str(record.get("formats") or "")) if n)
        if pattern and chosen:
            out.append((pattern, chosen))
    return tuple(out)
