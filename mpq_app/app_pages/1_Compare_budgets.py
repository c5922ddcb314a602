"""Compare budgets: two to four settings of one limit side by side (the budget by default)."""

import streamlit as st

from mpq_app.ui import app_page, compare, render, state
from mpq_app.ui.layers import CHANGE_COLUMNS, change_columns, layer_frame, table_height
from mpq_app.ui.text import multiplier, option_noun, plain
from mpq_core import DEFAULT_MULTIPLIERS
from mpq_core.charts import budget_label, plot_distribution_compare, plot_heatmap
from mpq_core.report.differences import width_changes
from mpq_core.report.display import gbops

with app_page("Compare budgets") as view:
    st.title("Compare budgets")
    st.caption(plain(f"{view.data.origin} · solver: {view.solver}"))

    limits = view.spec.limits
    vary = compare.vary_choice(view, limits)
    if vary == 0 and view.has_budget:
        chosen = state.compare_choices()
        st.multiselect(
            "Budget multipliers (two to four)",
            sorted({*DEFAULT_MULTIPLIERS, view.multiplier, *chosen}),
            key="compare",
            max_selections=state.COMPARE_MAX,
            format_func=multiplier,
            on_change=state.choose_compare,
            select_all=False,
            help="Starts from the current budget and two around it; the choice is kept in "
            "the link.",
        )
        multipliers = sorted(st.session_state["compare"])
        if len(multipliers) < state.COMPARE_MIN:
            st.info("Pick at least two multipliers to compare.", icon=":material/info:")
            st.stop()
        solutions = compare.solve_setups(view, [view.spec_at(m) for m in multipliers])
        labels = [f"m = {multiplier(m)}" for m in multipliers]
    else:
        solutions, labels = compare.other_limit(view, limits, vary)

    with st.container(key="cards"):
        columns = st.columns(len(solutions))
    for column, label, solution in zip(columns, labels, solutions, strict=True):
        with column:
            render.compact_metrics(solution, label)

    render.chart(plot_distribution_compare(solutions), key="compare_distribution")
    option = option_noun(view.problem.formats)
    st.subheader("Weight bits per layer, by block" if option == "width" else "Format per layer")
    for label, solution in zip(labels, solutions, strict=True):
        title = budget_label(solution) + (f" · {gbops(solution.cost)}" if solution.feasible else "")
        fig = plot_heatmap(solution, title=title, compact=True)
        render.chart(fig, key=f"heatmap_{label}")

    feasible = [s for s in solutions if s.feasible]
    if feasible:
        st.subheader(f"Layers whose {option} differs")
        pairs = zip(labels, solutions, strict=True)
        changes = width_changes(feasible, [k.removeprefix("m = ") for k, s in pairs if s.feasible])
        st.caption(
            f"{len(changes)} of {view.problem.n_layers} layers change {option} across these setups."
        )
        st.dataframe(
            layer_frame(changes),
            hide_index=True,
            key="compare_changes",
            column_config=CHANGE_COLUMNS,
            column_order=change_columns(changes),
            height=table_height(len(changes), max_rows=15),
        )

    compare.file_section(view)
