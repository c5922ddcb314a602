"""Compare budgets: two to four multipliers side by side."""

import streamlit as st

from mpq_core import DEFAULT_MULTIPLIERS
from mpq_core.charts import budget_label, plot_bit_heatmap, plot_distribution_compare
from mpq_core.display import gbops
from ui import render, start_page
from ui.layers import LAYER_COLUMNS, table_height, width_changes

view = start_page("Compare budgets")
st.title("Compare budgets")
st.caption(f"{view.data.origin} · solver: {view.solver}")

chosen = st.multiselect(
    "Budget multipliers (two to four)",
    DEFAULT_MULTIPLIERS,
    key="compare",
    max_selections=4,
    format_func=lambda m: f"{m:.2f}",
)
if len(chosen) < 2:
    st.info("Pick at least two multipliers to compare.", icon=":material/info:")
    st.stop()

multipliers = sorted(chosen)
solutions = [view.solve(m) for m in multipliers]
labels = [f"m = {m:.2f}" for m in multipliers]

for column, label, solution in zip(st.columns(len(solutions)), labels, solutions, strict=True):
    with column:
        render.compact_metrics(solution, label)

render.chart(plot_distribution_compare(solutions), key="compare_distribution")
st.subheader("Weight bits per layer, by block")
for label, solution in zip(labels, solutions, strict=True):
    title = budget_label(solution) + (f" · {gbops(solution.cost)}" if solution.feasible else "")
    fig = plot_bit_heatmap(solution, title=title, compact=True)
    render.chart(fig, key=f"heatmap_{label}")

feasible = [s for s in solutions if s.feasible]
if feasible:
    st.subheader("Layers whose width differs")
    changes = width_changes(feasible, [f"{s.multiplier:.2f}" for s in feasible])
    st.caption(
        f"{len(changes)} of {view.problem.n_layers} layers change width across these budgets."
    )
    st.dataframe(
        changes,
        hide_index=True,
        key="compare_changes",
        column_config=LAYER_COLUMNS,
        height=table_height(len(changes), max_rows=15),
    )
