"""Budget explorer: drag the budget, see where the bits go and what the budget buys.

The cards and charts follow the slider in the browser (``ui.live``); a committed budget reruns
only the fragment with the controls and the downloads.
"""

import streamlit as st

from ui import app_page, export, live, render, state
from ui.page import View

TITLE = "Budget explorer"


@st.fragment
def budget(view: View, export_area) -> None:
    """The controls, the budget in use (for the live views) and the downloads at that budget."""
    with live.fragment_guard(TITLE):
        if live.fragment_rerun():  # re-assign the app's widget keys, as every run does
            state.keep_widget_state()  # (else the sidebar's choices are lost on a page switch)
        m = render.budget_controls(view.problem)
        solution = view.solve(m)
        render.infeasible_notice(solution)
        live.budget_state(view, solution)
        with export_area:
            export.downloads(view, solution, view.sweep())
        state.write_url(view.settings)  # a fragment rerun does not pass through the page


with app_page(TITLE) as view:
    st.title(TITLE)
    render.data_caption(view)
    controls = st.container()
    live.plotly_library()
    tables = live.budget_tables(view)
    live.mount(live.CARDS, tables)
    live.mount("heatmap", tables)
    with render.chart_row("allocation"):  # side by side, stacked when narrow
        live.mount("distribution", tables)
        live.mount("budget_use", tables)
    with render.chart_row("sweep"):
        live.mount("budget_curve", tables)
        live.mount("slack", tables)
    export_area = st.container()
    export_area.subheader("Export")
    with controls, live.whole_page_run():
        budget(view, export_area)
