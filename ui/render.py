"""Rendering helpers: budget controls, headline metrics, notices, charts and downloads."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mpq_core import (
    GIGA,
    Problem,
    Solution,
    config_filename,
    config_json,
    export_config,
    layers_csv,
    smallest_grid_multiplier,
)

from . import state

CHART_CONFIG = {
    "displaylogo": False,
    "toImageButtonOptions": {"format": "png", "scale": 2},
    "modeBarButtonsToRemove": ["lasso2d", "select2d"],
}
METRICS_PER_ROW = 4


_STYLE = """
<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem; padding-bottom: 3rem; }
[data-testid="stMetricValue"] { font-size: 1.65rem; }
</style>
"""


def page_style() -> None:
    """Tighter top padding and metric values that fit a GBOPs figure in a quarter row."""
    st.html(_STYLE)


def data_caption(view) -> None:
    problem = view.problem
    st.caption(
        f"{view.data.origin} · {problem.n_layers} layers · "
        f"{problem.inputs.sensitivity.kind.replace('_', '-')} sensitivity · "
        f"ladder {'/'.join(map(str, problem.widths))} · solver: {view.solver}"
    )


def chart(fig: go.Figure, key: str) -> None:
    """A figure exactly as built (no Streamlit theme), so it matches exported images."""
    st.plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None)


def gbops(bops: float) -> str:
    return f"{bops / GIGA:,.1f} GBOPs"


def budget_controls(problem: Problem) -> float:
    """The slider and the exact entry (kept in sync by callbacks); returns the multiplier."""
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    left.slider(
        "Budget multiplier",
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        format="%.2f",
        key="budget",
        on_change=state.sync_exact_from_slider,
        help="Budget = multiplier x the cost with every layer at the top width.",
    )
    right.number_input(
        "Exact multiplier",
        min_value=0.0,
        max_value=1.0,
        step=0.001,
        format="%.3f",
        key="budget_exact",
        on_change=state.sync_slider_from_exact,
    )
    m = state.current_multiplier()
    top = problem.widths[-1]
    st.caption(
        f"Budget **{gbops(problem.budget_for(m))}** = {m:.3f} x {gbops(problem.max_cost)} "
        f"(every layer at {top} bits). Multipliers below "
        f"**{smallest_grid_multiplier(problem):.2f}** are infeasible: every layer at its "
        f"lowest allowed width already costs {gbops(problem.min_cost)}."
    )
    return m


def infeasible_notice(solution: Solution) -> None:
    """The solver's own message, and a one-click way to the smallest feasible budget."""
    if solution.feasible:
        return
    st.error(f"**Infeasible budget**: {solution.message}.", icon=":material/block:")
    target = solution.min_grid_multiplier
    st.button(
        f"Use the smallest feasible multiplier ({target:.2f})",
        key="use_min_multiplier",
        on_click=state.set_multiplier,
        args=(target,),
        icon=":material/arrow_forward:",
    )


def headline_metrics(solution: Solution, gap: pd.Series | None = None) -> None:
    """Budget, cost, utilization, objective, upgrades, mean bits (and the greedy gap)."""
    problem = solution.problem
    mean_layer, mean_macs = solution.mean_wbits()
    items: list[tuple[str, str, str]] = [
        (
            "Budget",
            gbops(solution.budget),
            f"{solution.multiplier:.3f} x {gbops(problem.max_cost)}",
        ),
        ("Final cost", gbops(solution.cost), f"status: {solution.status}"),
        ("Utilization", f"{solution.utilization:.1%}", "final cost / budget"),
        (
            "Objective",
            f"{solution.objective_share:.1%}",
            f"{solution.objective:.5g} of the largest reachable {problem.max_objective:.5g}",
        ),
        ("Upgrades", f"{solution.num_upgrades:,}", "steps up the ladder, summed over layers"),
        (
            "Mean weight bits",
            f"{mean_layer:.2f} · {mean_macs:.2f}",
            "per layer · weighted by MACs",
        ),
    ]
    if gap is not None:
        if bool(gap["feasible"]):
            value = f"{gap['gap_pct']:.3f} %"
            note = (
                f"exact {gap['exact_objective']:.6g} vs greedy {gap['greedy_objective']:.6g}; "
                f"LP bound {gap['lp_bound']:.6g}"
            )
        else:
            value, note = "n/a", "infeasible budget"
        items.append(("Greedy gap", value, note))
    for start in range(0, len(items), METRICS_PER_ROW):
        columns = st.columns(METRICS_PER_ROW)
        for column, (label, value, note) in zip(
            columns, items[start : start + METRICS_PER_ROW], strict=False
        ):
            column.metric(label, value, help=note, border=True)


def downloads(solution: Solution) -> None:
    """The config JSON (the CLI's name and bytes) and the per-layer CSV; off when infeasible."""
    ok = solution.feasible
    name = config_filename(solution.multiplier)
    left, right, note = st.columns([1, 1, 2], vertical_alignment="center")
    left.download_button(
        "Download config (JSON)",
        data=config_json(export_config(solution)) if ok else "",
        file_name=name,
        mime="application/json",
        key="download_config",
        disabled=not ok,
        on_click="ignore",
        icon=":material/download:",
        type="primary",
        width="stretch",
    )
    right.download_button(
        "Download layers (CSV)",
        data=layers_csv(solution) if ok else "",
        file_name=name.replace("quantization_config_", "layers_").replace(".json", ".csv"),
        mime="text/csv",
        key="download_csv",
        disabled=not ok,
        on_click="ignore",
        icon=":material/table:",
        width="stretch",
    )
    if ok:
        note.caption(f"`{name}`: the same file the command line writes for these settings.")
    else:
        note.caption("Nothing to export at an infeasible budget.")


def compact_metrics(solution: Solution, label: str) -> None:
    """One budget in a column: its cost as a metric, the other figures in a caption."""
    if not solution.feasible:
        st.metric(label, "infeasible", border=True)
        st.warning(solution.message, icon=":material/block:")
        return
    widths = "/".join(str(w) for w, _, _ in solution.distribution())
    counts = "/".join(str(c) for _, c, _ in solution.distribution())
    st.metric(label, gbops(solution.cost), border=True)
    st.caption(
        f"utilization **{solution.utilization:.1%}** · objective "
        f"**{solution.objective_share:.1%}** · {counts} layers at {widths} bits"
    )


def current_budget_note(solution: Solution) -> None:
    """Which budget and solver this page shows, and where to change them."""
    st.caption(
        f"At multiplier **{solution.multiplier:.3f}** ({gbops(solution.budget)}) with the "
        f"**{solution.solver}** solver: change the budget on the Budget explorer page."
    )
    st.page_link("dashboard.py", label="Budget explorer", icon=":material/tune:")
    if not solution.feasible:
        st.warning(solution.message, icon=":material/block:")
