"""Budget explorer: drag the budget, see where the bits go and what the budget buys.

With one limit (the BOPs budget, or another such as ``bpw``), the cards and charts follow its
slider in the browser (``ui.live``) and a committed value reruns only the fragment with the
controls and the downloads. With several limits the server draws the page at each committed
value (every slider would otherwise need all its steps again per value of the others).
"""

import streamlit as st

from mpq_app.ui import app_page, constraints, data, export, limits_view, live, render, state
from mpq_app.ui.page import View
from mpq_core.charts import (
    plot_bit_heatmap,
    plot_budget_curve,
    plot_budget_use,
    plot_distribution,
    plot_slack,
)

TITLE = "Budget explorer"


@st.fragment
def controls(view: View, export_area) -> None:
    """The slider of the one limit, the value in use (for the live views) and the downloads
    at that value."""
    with live.fragment_guard(TITLE):
        if live.fragment_rerun():  # re-assign the app's widget keys, as every run does
            state.keep_widget_state()  # (else the sidebar's choices are lost on a page switch)
        # a fragment rerun keeps the view of the last whole-page run: take it to the value
        view = committed(view)
        solution = view.solve()
        render.infeasible_notice(solution)
        live.live_state(view, solution)
        with export_area:
            export.downloads(view, solution, view.sweep())
        state.write_url(view.settings)  # a fragment rerun does not pass through the page


def committed(view: View) -> View:
    """Draw the limit's slider and exact box; the view at the value they hold."""
    if view.has_budget:
        return view.at(render.budget_controls(view.problem))
    constraints.limit_controls(view.problem)
    return view.with_limits(constraints.current_limits())


def live_page(view: View) -> None:
    """One limit: every view follows the thumb in the browser."""
    top = st.container()
    live.plotly_library()
    tables = live.live_tables(view)
    live.mount(live.CARDS, tables)
    if not render.has_params(view.problem):
        st.caption(render.NO_PARAMS)
    live.mount(live.WEIGHTS, tables)
    if not view.has_budget:  # how much of the limit the allocation uses, and if it binds
        live.mount("limits_use", tables)
    if live.GROUPS_CHART in tables:
        live.mount(live.GROUPS_CHART, tables)
    live.mount("heatmap", tables)
    if view.has_budget:
        with render.chart_row("allocation"):  # side by side, stacked when narrow
            live.mount("distribution", tables)
            live.mount("budget_use", tables)
        with render.chart_row("sweep"):
            live.mount("budget_curve", tables)
            live.mount("slack", tables)
    else:
        live.mount("distribution", tables)
        st.caption("No BOPs budget among the limits: the budget charts are left out.")
    limits_view.tradeoff_section(view)
    export_area = st.container()
    export_area.subheader("Export")
    with top, live.whole_page_run():
        controls(view, export_area)


def server_page(view: View) -> None:
    """Several limits, none on BOPs, or a large problem: the server draws every view at the
    committed values."""
    if view.has_budget:
        render.budget_controls(view.problem)
    if view.budget_only:  # then too large for the live views
        st.caption(
            f"{view.problem.n_layers:,} layers: the charts follow the budget when the slider is "
            f"released (they follow it while it moves up to {data.LIVE_MAX_LAYERS:,} layers)."
        )
    solution = view.solve()
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


with app_page(TITLE) as view:
    st.title(TITLE)
    render.data_caption(view)
    if live.applies(view):
        live_page(view)
    else:
        server_page(view)
