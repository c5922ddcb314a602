"""Validate: measured quality of solved allocations against the objective the solver predicted."""

import streamlit as st

from mpq_app.ui import app_page, render
from mpq_app.ui.text import plain
from mpq_app.ui.validation import (
    DIFFERENCE_COLUMNS,
    HOW_TO,
    cached_agreement,
    load_results,
    metric_choice,
    results_file,
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
    found = cached_agreement(file, metric, view.files, view.spec.problem_key())
    origin = "bundled with the sample" if file.bundled else "uploaded"
    predicted = "from the file" if found.predicted_from == "file" else "solved on the loaded data"
    st.caption(
        plain(
            f"{file.name} ({origin}) · predicted objective {predicted} · m = {view.multiplier:.2f}"
        )
    )

    diffs = solver_differences(found)
    left, middle, right = st.columns(3)
    left.metric("Spearman ρ (predicted vs measured)", f"{found.rho:+.3f}", border=True)
    middle.metric("Rows (budget × solver)", len(found.table), border=True)
    right.metric("Budgets where greedy and exact differ", len(diffs), border=True)

    render.chart(
        plot_validation_budgets(found, multiplier=view.multiplier), key="validation_budgets"
    )
    render.chart(
        plot_validation_scatter(found, multiplier=view.multiplier), key="validation_scatter"
    )
    if len(diffs):
        st.subheader("Where greedy and exact differ")
        st.dataframe(
            diffs, hide_index=True, key="validation_differences", column_config=DIFFERENCE_COLUMNS
        )
