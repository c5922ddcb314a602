"""Per-layer tables: column formats, search, width differences, pin and unpin controls."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from mpq_core import Solution, block_of

from . import state
from .data import Pins

LAYER_WIDTH = 410  # px: the longest SD 1.4 UNet name (62 characters) in full

LAYER_COLUMNS = {
    "layer": st.column_config.TextColumn("layer", width=LAYER_WIDTH, pinned=True),
    "block": st.column_config.TextColumn("block", width=120),
    "type": st.column_config.TextColumn("type", width=118),
    "macs": st.column_config.NumberColumn("MACs", format="localized", width=112),
    "sensitivity": st.column_config.NumberColumn("sensitivity", format="%.4f", width=82),
    "wbit": st.column_config.NumberColumn("W bits", format="%d", width=58),
    "abit": st.column_config.NumberColumn("A bits", format="%d", width=58),
    "bops": st.column_config.NumberColumn("BOPs", format="localized", width=120),
    "bops_share": st.column_config.NumberColumn("BOPs share", format="percent", width=84),
    "pinned": st.column_config.CheckboxColumn("pinned", width=58),
}
ROW_PX = 35  # st.dataframe's row (and header) height
MAX_ROWS = 22  # taller tables scroll inside


def table_height(rows: int, max_rows: int = MAX_ROWS) -> int:
    """Pixels that show ``rows`` rows (at most ``max_rows``) and the header, no blank rows."""
    return ROW_PX * (min(max(rows, 1), max_rows) + 1) + 3


def layer_columns(table: pd.DataFrame, *, gains: bool = False) -> list[str]:
    """Display order: the decision first, then what it is based on. The block is part of the
    name (searchable, not shown); the gain columns only on request: with them the table is
    wider than a laptop screen."""
    first = ["layer", "wbit", "abit", "pinned", "type", "macs", "bops_share", "sensitivity"]
    rest = [c for c in table.columns if c.startswith("eff_")] if gains else []
    return [c for c in first + rest if c in table.columns]


def layer_table_config(table: pd.DataFrame) -> dict:
    """Column formats of the Layers page: MACs compact (10.7B) so that the row fits."""
    compact = {"macs": st.column_config.NumberColumn("MACs", format="compact", width=76)}
    return LAYER_COLUMNS | compact | efficiency_columns(table)


def efficiency_columns(table: pd.DataFrame) -> dict:
    """Formats for the ``eff_<lo>_<hi>`` columns (gain per GBOP of one upgrade step)."""
    return {
        name: st.column_config.NumberColumn(
            f"gain {name[4:].replace('_', '→')}",
            format="%.4g",
            width=82,
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
