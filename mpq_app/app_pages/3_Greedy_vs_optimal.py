"""Greedy vs optimal: both objectives and the LP bound across budgets, the gap, the differences."""

import streamlit as st

from mpq_app.ui import app_page, background, render
from mpq_app.ui.data import exact_sweep_job, sweep_key
from mpq_app.ui.gap import gap_summary, solver_pair
from mpq_app.ui.layers import LAYER_COLUMNS, layer_frame
from mpq_app.ui.text import multiplier, option_noun, plain
from mpq_core import solver_gap
from mpq_core.charts import plot_solver_gap
from mpq_core.report.differences import width_changes

with app_page("Greedy vs optimal") as view:
    st.title("Greedy vs optimal")
    limits = view.spec.limits
    swept = "every multiplier from 0.00 to 1.00 in steps of 0.01"
    if not view.budget_only:
        held = ", ".join(limit.label() for limit in limits[1:]) or "no other limit"
        swept = f"{limits[0].resource} swept over its slider's values; held: {held}"
    st.caption(plain(f"{view.data.origin} · {swept}"))

    job = exact_sweep_job(view.files, sweep_key(view.spec), ("greedy", "exact"))
    if background.show(job):  # a large model's exact sweep runs in the background
        gap = solver_gap(view.sweep(("greedy", "exact")))
        gap_summary(gap)
        render.chart(plot_solver_gap(gap, view.solve()), key="solver_gap")
        st.caption(
            "Top: how far each solver's objective stays below the LP bound (the exact optimum "
            "can never exceed it). Bottom: the greedy's shortfall from the exact optimum."
        )

    greedy, exact = view.solve(solver="greedy"), view.solve(solver="exact")
    if view.has_budget:
        st.subheader(f"At the current budget (m = {multiplier(view.multiplier)})")
    else:
        st.subheader(plain(f"At the current limits ({', '.join(x.label() for x in limits)})"))
    solver_pair(greedy, exact, view.gap_at(exact, greedy))
    if greedy.feasible:
        changes = width_changes([greedy, exact], ["greedy", "exact"])
        option = option_noun(view.problem.formats)
        st.caption(f"{len(changes)} layer(s) get a different {option} from the two solvers.")
        if len(changes):
            st.dataframe(
                layer_frame(changes),
                hide_index=True,
                key="solver_changes",
                column_config=LAYER_COLUMNS,
            )
