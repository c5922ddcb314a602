"""Budget explorer: drag the budget, see where the bits go and what the budget buys."""

import streamlit as st

from mpq_core.charts import (
    plot_bit_heatmap,
    plot_budget_curve,
    plot_budget_use,
    plot_distribution,
    plot_slack,
)
from ui import app_page, export, limits_view, render

with app_page("Budget explorer") as view:
    st.title("Budget explorer")
    render.data_caption(view)

    m = render.budget_controls(view.problem) if view.has_budget else view.multiplier
    solution = view.solve(m)
    render.infeasible_notice(solution)
    render.headline_metrics(solution, view.gap_at(solution) if view.solver == "exact" else None)
    limits_view.limits_panel(view, solution)

    render.chart(plot_bit_heatmap(solution), key="heatmap")

    sweep = view.sweep()
    if view.has_budget:
        with render.chart_row("allocation"):  # side by side, stacked when narrow
            render.chart(plot_distribution(solution), key="distribution")
            render.chart(plot_budget_use(solution), key="budget_use")
        with render.chart_row("sweep"):
            render.chart(plot_budget_curve(sweep, solution), key="budget_curve")
            render.chart(plot_slack(sweep, solution), key="slack")
    else:
        render.chart(plot_distribution(solution), key="distribution")
        st.caption("No BOPs budget among the limits: the budget charts are left out.")

    limits_view.tradeoff_section(view)

    st.subheader("Export")
    export.downloads(view, solution, sweep)
