"""Layers: the per-layer table at the current budget; pin or unpin from here."""

import streamlit as st

from mpq_app.ui import app_page, render
from mpq_app.ui.layers import (
    filter_layers,
    layer_columns,
    layer_frame,
    layer_table_config,
    pin_controls,
    table_height,
)
from mpq_core import layer_table

with app_page("Layers") as view:
    st.title("Layers")
    solution = view.solve()
    render.current_budget_note(solution)

    table = layer_table(solution)
    with st.container(key="layers_search_row"):
        search, toggle = st.columns([3, 1], vertical_alignment="bottom")
    query = search.text_input(
        "Search layers", key="layer_search", placeholder="part of a name, block or type"
    )
    gains = toggle.toggle(
        "Gain per GBOP columns",
        key="layer_gains",
        help="Sensitivity gained per GBOP of each step up the ladder: what the greedy ranks by.",
    )
    rows = filter_layers(table, query)
    st.caption(f"{len(rows)} of {len(table)} layers. Select rows to pin or unpin them.")
    event = st.dataframe(
        layer_frame(rows),
        key="layer_table",
        on_select="rerun",
        selection_mode="multi-row",
        hide_index=True,
        height=table_height(len(rows)),
        column_config=layer_table_config(table),
        column_order=layer_columns(table, gains=gains),
    )
    picked = [i for i in event.selection.rows if i < len(rows)]  # the search may shrink rows
    selected = rows["layer"].iloc[picked].tolist()
    matches = rows["layer"].tolist() if query.strip() else []
    pin_controls(selected, matches, query, view.settings.pins, view.settings.pin_widths)
