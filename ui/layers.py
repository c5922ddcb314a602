"""Per-layer tables: column formats, search, width differences, pin and unpin controls."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from mpq_core import Solution, block_of

from . import state
from .data import Pins

LAYER_COLUMNS = {
    "layer": st.column_config.TextColumn("layer", width=420, pinned=True),
    "block": st.column_config.TextColumn("block"),
    "type": st.column_config.TextColumn("type"),
    "macs": st.column_config.NumberColumn("MACs", format="localized"),
    "sensitivity": st.column_config.NumberColumn("sensitivity", format="%.4f"),
    "wbit": st.column_config.NumberColumn("W bits", format="%d"),
    "abit": st.column_config.NumberColumn("A bits", format="%d"),
    "bops": st.column_config.NumberColumn("BOPs", format="localized"),
    "bops_share": st.column_config.NumberColumn("BOPs share", format="percent"),
    "pinned": st.column_config.CheckboxColumn("pinned"),
}


def layer_columns(table: pd.DataFrame) -> list[str]:
    """Display order: the decision first, then what it is based on."""
    first = ["layer", "wbit", "abit", "pinned", "block", "type", "macs", "bops_share"]
    rest = ["sensitivity", *[c for c in table.columns if c.startswith("eff_")]]
    return [c for c in first + rest if c in table.columns]


def efficiency_columns(table: pd.DataFrame) -> dict:
    """Formats for the ``eff_<lo>_<hi>`` columns (gain per GBOP of one upgrade step)."""
    return {
        name: st.column_config.NumberColumn(
            f"gain/GBOP {name[4:].replace('_', '->')}",
            format="%.4g",
            help="Sensitivity gained per GBOP spent on this step up the ladder",
        )
        for name in table.columns
        if name.startswith("eff_")
    }


def filter_layers(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows whose name, block or type contains ``query`` (case-insensitive)."""
    text = query.strip().lower()
    if not text:
        return table
    hit = pd.Series(False, index=table.index)
    for column in ("layer", "block", "type"):
        hit |= table[column].astype(str).str.lower().str.contains(text, regex=False)
    return table[hit]


def width_changes(solutions: Sequence[Solution], labels: Sequence[str]) -> pd.DataFrame:
    """Layers whose weight width differs between the solutions, one width column each."""
    problem = solutions[0].problem
    frame = pd.DataFrame(
        {
            "layer": list(problem.names),
            "block": [block_of(name)[0] for name in problem.names],
            "type": list(problem.types),
            "macs": problem.macs,
        }
    )
    for label, solution in zip(labels, solutions, strict=True):
        frame[label] = solution.wbits.astype(int)
    differs = frame[list(labels)].nunique(axis=1) > 1
    return frame[differs].reset_index(drop=True)


def pin_controls(selected: list[str], ladder: tuple[int, ...], pins: Pins) -> None:
    """Pin the selected layers to one width, unpin them, or unpin everything."""
    width_col, pin_col, unpin_col, clear_col = st.columns(
        [2, 1.2, 1.2, 1.2], vertical_alignment="bottom"
    )
    width = width_col.segmented_control(
        "Pin width",
        ladder,
        format_func=lambda w: f"{w} bits",
        key="layers_pin_width",
        default=ladder[-1],
        required=True,
    )
    pin_col.button(
        f"Pin {len(selected)} selected",
        key="layers_pin",
        on_click=state.pin_layers,
        args=(selected, width, ladder),
        disabled=not selected or width is None,
        icon=":material/push_pin:",
        width="stretch",
    )
    unpin_col.button(
        f"Unpin {len(selected)} selected",
        key="layers_unpin",
        on_click=state.unpin_layers,
        args=(selected, ladder),
        disabled=not selected,
        width="stretch",
    )
    clear_col.button(
        f"Unpin all ({len(pins)})",
        key="layers_unpin_all",
        on_click=state.unpin_layers,
        args=(None, ladder),
        disabled=not pins,
        width="stretch",
    )
