"""Budget explorer: drag the budget, see where the bits go and what the budget buys."""

import streamlit as st

from mpq_core.charts import (
    plot_bit_heatmap,
    plot_budget_curve,
    plot_budget_use,
    plot_distribution,
    plot_slack,
)
from ui import app_page, export, render

with app_page("Budget explorer") as view:
    st.title("Budget explorer")
    render.data_caption(view)

    m = render.budget_controls(view.problem)
    solution = view.solve(m)
    render.infeasible_notice(solution)
    render.headline_metrics(solution, view.gap_at(solution) if view.solver == "exact" else None)

    render.chart(plot_bit_heatmap(solution), key="heatmap")

    with render.chart_row("allocation"):  # side by side, stacked when narrow
        render.chart(plot_distribution(solution), key="distribution")
        render.chart(plot_budget_use(solution), key="budget_use")

    sweep = view.sweep()
    with render.chart_row("sweep"):
        render.chart(plot_budget_curve(sweep, solution), key="budget_curve")
        render.chart(plot_slack(sweep, solution), key="slack")

    st.subheader("Export")
    export.downloads(view, solution, sweep)
