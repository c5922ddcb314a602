"""Validate: measured quality of solved allocations against the objective the solver predicted."""

import streamlit as st

from mpq_app.ui import app_page, render
from mpq_app.ui.validation import (
    HOW_TO,
    caption,
    difference_columns,
    load_agreement,
    load_results,
    metric_choice,
    results_file,
    show_counts,
    sweep_choice,
)
from mpq_core.charts.validation import plot_validation_budgets, plot_validation_scatter
from mpq_core.report.agreement import solver_differences

with app_page("Validate") as view:
    st.title("Validate")
    file = results_file(view.settings.source)
    results = load_results(file) if file is not None else None
    if results is None:
        st.markdown(HOW_TO)
        st.stop()

    metric = metric_choice(results)
    sweep = sweep_choice(results, view.spec.limits)
    found = load_agreement(file, metric, sweep, view.files, view.spec.problem_key())
    if found is None:
        st.stop()
    current = found.budget_in(view.spec.limits)  # the budget in use, when it is of this sweep
    st.caption(caption(file, found, current))

    diffs = solver_differences(found)
    show_counts(found, len(diffs))
    render.chart(plot_validation_budgets(found, multiplier=current), key="validation_budgets")
    render.chart(plot_validation_scatter(found, multiplier=current), key="validation_scatter")
    if len(diffs):
        st.subheader("Where greedy and exact differ")
        st.dataframe(
            diffs,
            hide_index=True,
            key="validation_differences",
            column_config=difference_columns(found.limit),
        )
