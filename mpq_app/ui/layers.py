"""Per-layer tables: column formats, search, pin and unpin controls."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from mpq_core.model.blocks import group_blocks
from mpq_core.report.display import percent

from .pins import pin_layers, unpin_layers
from .sidebar import Pins
from .text import plain, shorten

LAYER_WIDTH = 410  # px: the longest SD 1.4 UNet name (62 characters) in full
SHARE_DIGITS = 2

# The layer column is not pinned: Streamlit draws a pinned column's text light grey, and the
# name is the column a reader looks for first.
LAYER_COLUMNS = {
    "layer": st.column_config.TextColumn("layer", width=LAYER_WIDTH),
    "block": st.column_config.TextColumn("block", width=120),
    "type": st.column_config.TextColumn("type", width=118),
    "macs": st.column_config.NumberColumn("MACs", format="localized", width=112),
    "sensitivity": st.column_config.NumberColumn("sensitivity", format="%.4f", width=82),
    "wbit": st.column_config.NumberColumn("W bits", format="%d", width=58),
    "abit": st.column_config.NumberColumn("A bits", format="%d", width=58),
    "bops": st.column_config.NumberColumn("BOPs", format="localized", width=120),
    # no format here: the Styler of ``layer_frame`` writes it ("<0.01%", never "0%")
    "bops_share": st.column_config.NumberColumn("BOPs share", width=84),
    "pinned": st.column_config.CheckboxColumn("pinned", width=58),
}
# The Compare page's table of layers whose width differs: the name, one width per budget
# (about 50 px each), MACs, type and block fit a 800 px window (a 758 px table) with three
# budgets; names longer than about 45 characters end in an ellipsis there.
CHANGE_COLUMNS = LAYER_COLUMNS | {
    "layer": st.column_config.TextColumn("layer", width=330),
    "macs": st.column_config.NumberColumn("MACs", format="compact", width=76),
    "type": st.column_config.TextColumn("type", width=90),
    "block": st.column_config.TextColumn("block", width=100),
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


STYLED_CELLS = 250_000  # pandas' Styler refuses larger tables (its default cap: 262,144 cells)


def layer_frame(table: pd.DataFrame) -> Styler | pd.DataFrame:
    """A per-layer table as shown: BOPs shares with two decimals, a tiny share as "<0.01%"
    (the numbers stay numbers, so the column still sorts by value). A table of more than
    ``STYLED_CELLS`` cells is shown as it is (shares as fractions)."""
    if table.size > STYLED_CELLS:
        return table
    shares = {"bops_share": lambda v: percent(v, SHARE_DIGITS)}
    return table.style.format({k: f for k, f in shares.items() if k in table.columns})


def change_columns(changes: pd.DataFrame) -> list[str]:
    """Display order of a ``width_changes`` table: name, the widths, MACs, then type, block."""
    fixed = ("layer", "macs", "type", "block")
    widths = [c for c in changes.columns if c not in fixed]
    return ["layer", *widths, *[c for c in fixed[1:] if c in changes.columns]]


def heatmap_order(table: pd.DataFrame) -> pd.DataFrame:
    """The rows in the heatmap's order: blocks in network order, file order within a block."""
    blocks = group_blocks(table["layer"].tolist())
    return table.iloc[[i for block in blocks for i in block.layers]]


def filter_layers(table: pd.DataFrame, query: str) -> pd.DataFrame:
    """Rows whose name, block or type contains ``query`` (case-insensitive), in the heatmap's
    order (the table's own sort buttons reorder them)."""
    table = heatmap_order(table)
    text = query.strip().lower()
    if not text:
        return table
    hit = pd.Series(False, index=table.index)
    for column in ("layer", "block", "type"):
        hit |= table[column].astype(str).str.lower().str.contains(text, regex=False)
    return table[hit]


def pin_controls(
    selected: list[str], matches: list[str], query: str, pins: Pins, ladder: tuple[int, ...]
) -> None:
    """Pin the selected layers to one width of the ladder in use, unpin them, unpin all; and,
    while a search is active, pin all its matches (the one bulk action, labelled as such)."""
    if st.session_state.get("layers_pin_width") not in ladder:  # new page, or another ladder
        st.session_state["layers_pin_width"] = ladder[-1]
    width = st.segmented_control(
        "Pin width",
        ladder,
        format_func=lambda w: f"{w} bits",
        key="layers_pin_width",
        required=True,
    )
    with st.container(horizontal=True, key="pin_buttons"):
        st.button(
            f"Pin {len(selected)} selected",
            key="layers_pin",
            on_click=pin_layers,
            args=(selected, width),
            disabled=not selected,
            icon=":material/push_pin:",
        )
        st.button(
            f"Unpin {len(selected)} selected",
            key="layers_unpin",
            on_click=unpin_layers,
            args=(selected,),
            disabled=not selected,
        )
        st.button(
            f"Unpin all ({len(pins)})",
            key="layers_unpin_all",
            on_click=unpin_layers,
            args=(None,),
            disabled=not pins,
        )
        if query.strip() and matches:
            st.button(
                plain(
                    f"Pin all {len(matches)} matches of '{shorten(query.strip(), word=30)}' "
                    f"to {width} bits"
                ),
                key="layers_pin_matches",
                on_click=pin_layers,
                args=(matches, width),
                help="Every layer the search finds, whether selected or not.",
            )
