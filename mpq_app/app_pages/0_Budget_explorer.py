"""Budget explorer: drag the budget, see where the bits go and what the budget buys.

The cards and charts follow every limit's slider in the browser (``ui.live``). With one limit
(the BOPs budget, or another such as ``bpw``) a committed value reruns only the fragment with
the controls and the downloads. With several, each slider's steps are solved with the others
held, so a committed value reruns the page: the other sliders' steps are solved again.
Problems too large for that are drawn by the server at each committed value.
"""

import streamlit as st

from mpq_app.ui import (
    app_page,
    background,
    constraints,
    data,
    export,
    limits_view,
    live,
    render,
    state,
)
from mpq_app.ui.page import View
from mpq_core.charts import (
    plot_block_detail,
    plot_budget_curve,
    plot_budget_use,
    plot_distribution,
    plot_heatmap,
    plot_slack,
)

TITLE = "Budget explorer"


@st.fragment
def controls(view: View, export_area) -> None:
    """One limit: its slider in a fragment of its own (see :func:`draw_controls`)."""
    with live.fragment_guard(TITLE):
        if live.fragment_rerun():  # re-assign the app's widget keys, as every run does
            state.keep_widget_state()  # (else the sidebar's choices are lost on a page switch)
        draw_controls(view, export_area)


def draw_controls(view: View, export_area) -> None:
    """The sliders, the values in use (for the live views) and the downloads at them."""
    # a fragment rerun keeps the view of the last whole-page run: take it to the values
    view = committed(view)
    solution = view.solve()
    render.infeasible_notice(solution)
    live.live_state(view, solution)
    with export_area:
        export.downloads(view, solution, view.sweep())
    state.write_url(view.settings)  # a fragment rerun does not pass through the page


def committed(view: View) -> View:
    """Draw every limit's slider and exact box; the view at the values they hold."""
    if view.has_budget:
        view = view.at(render.budget_controls(view.problem))
    if view.budget_only:
        return view
    constraints.limit_controls(view.problem)
    first = view.spec.limits[:1] if view.has_budget else ()  # the budget, as just drawn
    return view.with_limits(first + constraints.current_limits()[len(first) :])


def live_page(view: View) -> None:
    """Every view follows the thumb of any slider in the browser."""
    top = st.container()
    live.plotly_library()
    tables = live.live_tables(view)
    live.mount(live.CARDS, tables)
    if not render.has_params(view.problem):
        st.caption(render.NO_PARAMS)
    live.mount(live.WEIGHTS, tables)
    if "limits_use" in tables:  # how much of each limit the allocation uses, which ones bind
        live.mount("limits_use", tables)
    if live.GROUPS_CHART in tables:
        live.mount(live.GROUPS_CHART, tables)
    live.mount("heatmap", tables)
    if live.large(view):  # the heatmap folds the layers: a block opens on demand
        live.block_detail(view)
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
    if live.steps_solver(view) != view.solver:
        st.caption(
            "Several limits: while a slider moves the views show the greedy's allocation at "
            f"each step; at the values in use they show the {view.solver} solver's."
        )
    limits_view.tradeoff_section(view)
    export_area = st.container()
    export_area.subheader("Export")
    if len(view.spec.limits) > 1:  # a committed value changes the other sliders' steps
        with top:
            draw_controls(view, export_area)
        return
    with top, live.whole_page_run():
        controls(view, export_area)


def server_page(view: View) -> None:
    """A problem too large for the live views: the server draws every view at the committed
    values."""
    if view.has_budget:
        render.budget_controls(view.problem)
    several = len(view.spec.limits) > 1
    most = data.LIVE_MAX_LAYERS_SEVERAL if several else data.LIVE_MAX_LAYERS
    follow = (
        "the sliders when they are released (they follow them while they move"
        if several
        else "the slider when it is released (they follow it while it moves"
    )
    layers = view.problem.n_layers
    st.caption(f"{layers:,} layers: the charts follow {follow} up to {most:,} layers).")
    solution = view.solve()
    render.infeasible_notice(solution)
    render.headline_metrics(solution, view.gap_at(solution) if view.solver == "exact" else None)
    limits_view.limits_panel(view, solution)

    render.chart(plot_heatmap(solution), key="heatmap")
    block = live.pick_block(view) if live.large(view) else None
    if block is not None:
        render.chart(plot_block_detail(solution, block), key=live.DETAIL)

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
    background.show(view.exact_job())
    if live.applies(view):
        live_page(view)
    else:
        server_page(view)
