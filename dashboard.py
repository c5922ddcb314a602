"""Budget explorer: drag the budget, see where the bits go and what the budget buys."""

import streamlit as st

from mpq_core.charts import (
    plot_bit_heatmap,
    plot_cost_curve,
    plot_distribution,
    plot_tradeoff,
    plot_utilization_gauge,
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

    with st.container(key="wide_distribution"):
        left, right = st.columns([1.45, 1], gap="medium")
    with left:
        render.chart(plot_distribution(solution), key="distribution")
    with right:
        render.chart(plot_utilization_gauge(solution), key="gauge")
        render.gauge_bands()

    sweep = view.sweep()
    with st.container(key="wide_curves"):
        left, right = st.columns(2, gap="medium")
    with left:
        render.chart(plot_cost_curve(sweep, solution), key="cost_curve")
    with right:
        render.chart(plot_tradeoff(sweep, solution), key="tradeoff")

    st.subheader("Export")
    export.downloads(view.problem, solution, sweep)
