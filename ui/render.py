"""Rendering helpers: budget controls, headline metrics, notices, charts and downloads."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mpq_core import Problem, Solution, smallest_grid_multiplier
from mpq_core.report import chart_config, gbops

from . import state

METRICS_PER_ROW = 4


_STYLE = """
<style>
[data-testid="stMainBlockContainer"] {
  padding-top: 1.5rem; padding-bottom: 3rem; padding-left: 3rem; padding-right: 3rem;
}
[data-testid="stMetricValue"] { font-size: 1.65rem; }
</style>
"""


def page_style() -> None:
    """Tighter padding (less empty space above the title, wider tables) and metric values that
    fit a GBOPs figure in a quarter row."""
    st.html(_STYLE)


def data_caption(view) -> None:
    problem = view.problem
    st.caption(
        f"{view.data.origin} · {problem.n_layers} layers · "
        f"{problem.inputs.sensitivity.kind.replace('_', '-')} sensitivity · "
        f"ladder {'/'.join(map(str, problem.widths))} · solver: {view.solver}"
    )


CHART_MIN_WIDTH = "26rem"  # a chart of a side-by-side pair moves below its neighbour when
# it would get narrower than this (its labels and legend are laid out for ~420 px and more)
_CHART_ROW = "chart_row_"
_CHART_ROW_STYLE = (
    f"<style>[class*='st-key-{_CHART_ROW}'] > div "
    f"{{ flex: 1 1 {CHART_MIN_WIDTH} !important; }}</style>"
)


def chart_row(name: str):
    """A row of charts side by side that stack when the page is narrow (a container)."""
    st.html(_CHART_ROW_STYLE)
    return st.container(horizontal=True, gap="medium", key=f"{_CHART_ROW}{name}")


def chart(fig: go.Figure, key: str) -> None:
    """A figure exactly as built (no Streamlit theme), so it matches exported images; its
    camera button saves the same print-size PNG as the charts ZIP and ``--report``."""
    st.plotly_chart(fig, key=key, config=chart_config(fig, key), theme=None)


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
        f"Budget **{gbops(problem.budget_for(m))}** = {m:.3f} × {gbops(problem.max_cost)} "
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


@dataclass(frozen=True)
class Metric:
    """One headline card: value, a muted second line (note and its description), tooltip."""

    label: str
    value: str
    note: str
    note_description: str
    help: str


def metric_grid(items: list[Metric], per_row: int = METRICS_PER_ROW) -> None:
    """Cards in rows of equal length, at most ``per_row`` each (no empty slots)."""
    rows = math.ceil(len(items) / per_row)
    size = math.ceil(len(items) / rows)
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        for column, item in zip(st.columns(len(chunk)), chunk, strict=True):
            column.metric(
                item.label,
                item.value,
                delta=item.note,
                delta_color="off",
                delta_arrow="off",
                delta_description=item.note_description or None,
                help=item.help,
                border=True,
            )


def headline_metrics(solution: Solution, gap: pd.Series | None = None) -> None:
    """Budget, cost, utilization, objective, upgrades, mean bits (and the greedy gap).

    Each card has a muted second line (a grey delta without arrow) that says what the value
    is made of; the cards fill rows of equal length (6 -> 3 + 3, 7 -> 4 + 3).
    """
    problem = solution.problem
    mean_layer, mean_macs = solution.mean_wbits()
    top = problem.widths[-1]
    left = solution.budget - solution.cost
    steps = int(problem.allowed.sum()) - problem.n_layers  # every layer at its top width
    items = [
        Metric(
            "Budget",
            gbops(solution.budget),
            f"m = {solution.multiplier:.3f}",
            f"× all-{top}-bit cost",
            f"{solution.multiplier:.3f} × {gbops(problem.max_cost)}",
        ),
        Metric(
            "Final cost",
            gbops(solution.cost),
            solution.status,
            f"{solution.solver} solver",
            "Sum of MACs x weight bits x activation bits over the layers.",
        ),
        Metric(
            "Utilization",
            f"{solution.utilization:.1%}",
            gbops(abs(left)),
            "left unused" if left >= 0 else "over budget",
            "Final cost / budget.",
        ),
        Metric(
            "Objective",
            f"{solution.objective_share:.1%}",
            f"{solution.objective:.5g}",
            f"of {problem.max_objective:.5g}",
            "Recovered sensitivity, as a share of the largest reachable (every layer at its "
            "top allowed width).",
        ),
        Metric(
            "Upgrades",
            f"{solution.num_upgrades:,}",
            f"of {steps:,}",
            "possible",
            "Steps up the ladder from each layer's lowest allowed width, summed over layers.",
        ),
        Metric(
            "Mean weight bits",
            f"{mean_layer:.2f} bits",
            f"{mean_macs:.2f} bits",
            "MAC-weighted",
            "Plain mean over the layers; below it, each layer weighted by its MACs.",
        ),
    ]
    if gap is not None:
        if bool(gap["feasible"]):
            items.append(
                Metric(
                    "Greedy gap",
                    f"{gap['gap_pct']:.3f} %",
                    f"{gap['gap']:.3g}",
                    "below exact",
                    f"exact {gap['exact_objective']:.6g} vs greedy "
                    f"{gap['greedy_objective']:.6g}; LP bound {gap['lp_bound']:.6g}",
                )
            )
        else:
            items.append(Metric("Greedy gap", "n/a", "infeasible", "", "infeasible budget"))
    metric_grid(items)


def compact_metrics(solution: Solution, label: str) -> None:
    """One budget in a (narrow) column: its cost, utilization, objective and layer counts."""
    if not solution.feasible:
        st.metric(label, "infeasible", border=True)
        st.warning(solution.message, icon=":material/block:")
        return
    widths = "/".join(str(w) for w, _, _ in solution.distribution())
    counts = "/".join(str(c) for _, c, _ in solution.distribution())
    st.metric(
        label,
        gbops(solution.cost),
        delta=f"{solution.utilization:.1%}",
        delta_color="off",
        delta_arrow="off",
        delta_description="of the budget",
        border=True,
    )
    st.caption(
        f"objective **{solution.objective_share:.1%}** of max  \n{widths}-bit layers: {counts}"
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
