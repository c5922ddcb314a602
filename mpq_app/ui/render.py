"""Rendering helpers: budget controls, headline metrics, notices, charts and downloads."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from mpq_core import Problem, Solution, SolverGap
from mpq_core.report.display import bits_size, gap_percent, gbops, mean_bits, percent
from mpq_core.report.html import chart_config
from mpq_core.solving.solution import feasibility_threshold

from . import budget
from .text import multiplier, option_noun, plain, score

METRICS_PER_ROW = 4


# Columns stack on a narrow screen only below 640 px; these rules let a grid wrap as soon as
# its cells would get too narrow for what they hold (a GBOPs card, a chart), at any width.
_STYLE = """
<style>
[data-testid="stMainBlockContainer"] {
  padding-top: 1.5rem; padding-bottom: 3rem; padding-left: 3rem; padding-right: 3rem;
}
@media (max-width: 1100px) {
  [data-testid="stMainBlockContainer"] { padding-left: 1.25rem; padding-right: 1.25rem; }
}
[data-testid="stMetricValue"] { font-size: 1.65rem; }
[data-testid="stMain"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[data-testid="stMain"] [data-testid="stColumn"] { min-width: min(10rem, 100%); }
.st-key-cards [data-testid="stColumn"],
[class*="st-key-cards_"] [data-testid="stColumn"] { min-width: min(15rem, 100%); }
[class*="st-key-wide_"] [data-testid="stColumn"] { min-width: min(25rem, 100%); }
.st-key-budget_row [data-testid="stColumn"]:last-child,
[class*="st-key-limit_row_"] [data-testid="stColumn"]:last-child { min-width: 7rem; }
.st-key-layers_search_row [data-testid="stColumn"]:last-child { min-width: 13.5rem; }
.st-key-budget_row [data-testid="stColumn"]:first-child,
[class*="st-key-limit_row_"] [data-testid="stColumn"]:first-child { min-width: min(16rem, 100%); }
[data-testid="stMain"] [data-testid="stBaseButton-secondary"] p,
[data-testid="stMain"] [data-testid="stBaseButton-primary"] p { white-space: normal; }
</style>
"""


def page_style() -> None:
    """Tighter padding (less empty space above the title, wider tables), metric values that
    fit a GBOPs figure in a quarter row, and grids that wrap instead of cutting their cells."""
    st.html(_STYLE)


def data_caption(view) -> None:
    problem = view.problem
    st.caption(
        plain(
            f"{view.data.origin} · {problem.n_layers:,} layers · "
            f"{problem.inputs.sensitivity.kind.replace('_', '-')} sensitivity · "
            f"{_options_caption(problem)} · solver: {view.solver}"
        )
    )


def _options_caption(problem: Problem) -> str:
    """``ladder 4/8/16``, or ``formats int4_g128/nvfp4/bf16``."""
    if problem.formats is not None:
        return "formats " + "/".join(fmt.name for fmt in problem.formats)
    return f"ladder {'/'.join(map(str, problem.widths))}"


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
    """The slider and the exact box, set from the budget in use (they only propose a
    multiplier; their callbacks write it); returns the multiplier in use."""
    value = budget.show()
    with st.container(key="budget_row"):
        left, right = st.columns([4, 1], vertical_alignment="bottom")
        left.slider(
            "Budget multiplier",
            min_value=0.0,
            max_value=1.0,
            step=0.01,
            format="%.2f",
            key=budget.SLIDER,
            on_change=budget.sync_from_slider,
            help="Budget = multiplier x the cost with every layer at the top width.",
        )
        right.text_input(
            "Exact multiplier",
            key=budget.TEXT,
            on_change=budget.sync_from_text,
            help="A multiplier from 0 to 1 with up to 6 decimals; press Enter to use it. "
            "Anything else leaves the budget as it is.",
        )
    note = budget.budget_note()
    if note:
        st.warning(plain(note), icon=":material/edit_off:")
    top = problem.option_labels[-1].replace("-bit", " bits")  # 16 bits, or bf16
    option = option_noun(problem.formats)
    threshold = feasibility_threshold(problem)
    # the same at every budget, so it cannot lag behind the thumb (the Budget card shows
    # the budget itself, live)
    st.caption(
        f"Budget = multiplier × **{gbops(problem.max_cost)}** (every layer at {top}). "
        f"Multipliers below **{threshold.text}** are infeasible: every layer at its lowest "
        f"allowed {option} already costs {gbops(problem.min_cost)}."
    )
    return value


def infeasible_notice(solution: Solution) -> None:
    """The solver's own message, and, when the BOPs budget is below the cheapest allocation's
    cost, a one-click way to the smallest feasible budget."""
    if solution.feasible:
        return
    short = solution.budget < solution.problem.min_cost  # the budget alone is too small
    head = "Infeasible budget" if short else "No allocation meets the limits"
    st.error(f"**{head}**: {plain(solution.message)}.", icon=":material/block:")
    if not short:
        return
    target = solution.min_grid_multiplier
    st.button(
        f"Use the smallest feasible slider value ({target:.2f})",
        key="use_min_multiplier",
        on_click=budget.set_multiplier,
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


def row_length(count: int, per_row: int = METRICS_PER_ROW) -> int:
    """Cards per row so that rows are of equal length, at most ``per_row`` each (no empty
    slots): 6 -> 3 + 3, 7 -> 4 + 3."""
    rows = max(math.ceil(count / per_row), 1)
    return max(math.ceil(count / rows), 1)


def metric_grid(items: list[Metric], per_row: int = METRICS_PER_ROW, key: str = "cards") -> None:
    """Cards drawn by the server in rows of :func:`row_length`; on a narrow screen a row
    wraps rather than cutting its figures. ``key`` names the container (the page's CSS styles
    ``cards`` containers: a second grid is ``cards_<name>``)."""
    size = row_length(len(items), per_row)
    with st.container(key=key):
        for start in range(0, len(items), size):
            chunk = items[start : start + size]
            for column, item in zip(st.columns(len(chunk)), chunk, strict=True):
                column.metric(
                    plain(item.label),  # a group's name from a constraints file or a link
                    item.value,
                    delta=item.note,
                    delta_color="off",
                    delta_arrow="off",
                    delta_description=item.note_description or None,
                    help=item.help,
                    border=True,
                )


def headline_metrics(solution: Solution, gap: SolverGap | None = None) -> None:
    """The headline cards drawn by the server (pages whose charts are not live)."""
    metric_grid(headline_items(solution, gap))


def headline_items(solution: Solution, gap: SolverGap | None = None) -> list[Metric]:
    """Budget, cost, utilization, objective, upgrades (and the greedy gap); at an infeasible
    budget: the budget, what is needed and by how much it falls short. The mean weight bits
    (params-weighted, the one mean shown anywhere) are a weight card (:func:`weight_items`).

    Each card has a muted second line (a grey note) that says what the value is made of; the
    page lays the cards out in rows of equal length (:func:`row_length`). The Budget explorer
    draws them live (``ui.live``), at every slider step.
    """
    if not solution.feasible:
        return _infeasible_metrics(solution)
    problem = solution.problem
    left = solution.budget - solution.cost
    steps = int(problem.allowed.sum()) - problem.n_layers  # every layer at its top width
    items = [
        _budget_metric(solution),
        Metric(
            "Final cost",
            gbops(solution.cost),
            solution.status,
            f"{solution.solver} solver",
            "Sum of MACs x weight bits x activation bits over the layers.",
        ),
        Metric(
            "Utilization",
            percent(solution.utilization),
            gbops(left),
            "left unused",
            "Final cost / budget.",
        ),
        Metric(
            "Objective",
            percent(solution.objective_share),
            score(solution.objective),
            f"of {score(problem.max_objective)}",
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
    ]
    if not math.isfinite(solution.budget):  # no BOPs limit: no budget or utilization to show
        items = [i for i in items if i.label not in ("Budget", "Utilization")]
    if gap is not None and gap.feasible:
        items.append(
            Metric(
                "Greedy gap",
                gap_percent(gap.gap_pct),
                score(gap.gap),
                "below exact",
                f"exact {score(gap.exact_objective)} vs greedy "
                f"{score(gap.greedy_objective)}; LP bound {score(gap.lp_bound)}",
            )
        )
    return items


NO_PARAMS = "Mean weight bits and weight memory: the Phase 1 file gives no parameter counts."


def has_params(problem: Problem) -> bool:
    """Whether the Phase 1 file gave every layer a parameter count (for the weight cards)."""
    params = problem.params
    return not np.isnan(params).any() and params.sum() > 0


def weight_items(solution: Solution) -> list[Metric]:
    """Params-weighted mean weight width ("W4.08") and weight memory, overall and per group;
    none at an infeasible budget or without parameter counts."""
    if not solution.feasible or not has_params(solution.problem):
        return []
    if solution.problem.formats is not None:
        return _format_weight_items(solution)
    memory = solution.weight_bits()
    top = solution.problem.widths[-1]
    full = float(solution.problem.params.sum()) * top  # every layer at the top width
    items = [
        Metric(
            "Mean weight bits",
            mean_bits(solution.param_mean_wbits()),
            "params-weighted",
            "",
            "Σ params × width / Σ params over every layer: the figure papers report as W4.08.",
        ),
        Metric(
            "Weight memory",
            bits_size(memory),
            percent(memory / full),
            f"of all-{top}-bit",
            f"Σ params × width: the weights at their chosen widths (activations and metadata "
            f"not counted); every layer at {top} bits would take {bits_size(full)}.",
        ),
    ]
    return items + _group_items(
        solution, "Params-weighted mean weight width and weight memory of the group."
    )


def _format_weight_items(solution: Solution) -> list[Metric]:
    """Effective bits per weight (scales included, what a ``bpw`` limit counts) and the
    weight memory with scales, overall and per group."""
    problem = solution.problem
    memory = solution.stored_weight_bits()
    top = problem.option_labels[-1]
    full = math.fsum(problem.resource("bpw")[:, -1].tolist())
    items = [
        Metric(
            "Effective bits",
            mean_bits(solution.effective_bits()),
            f"nominal {solution.param_mean_wbits():.2f}",
            "",
            "Σ params × effective bits / Σ params: weights with their scales and zero points "
            "(what a bpw limit counts; ModelOpt's effective bits). Nominal: the element bits "
            "alone.",
        ),
        Metric(
            "Weight memory",
            bits_size(memory),
            percent(memory / full),
            f"of all-{top}",
            f"The weights in their formats, scales included (activations not counted); every "
            f"layer in {top} would take {bits_size(full)}.",
        ),
    ]
    return items + _group_items(
        solution, "Effective bits per weight (scales included) and weight memory of the group."
    )


def _group_items(solution: Solution, help_text: str) -> list[Metric]:
    """A card per group: its mean bits per weight and its weight memory (scales included with
    formats; for plain widths they are the mean width and params x width)."""
    return [
        Metric(
            f"{group.name}"[:40],
            mean_bits(solution.effective_bits(group.name)),
            bits_size(solution.stored_weight_bits(group.name)),
            f"{len(group.members)} layers",
            help_text,
        )
        for group in solution.problem.groups
    ]


def _budget_metric(solution: Solution) -> Metric:
    problem = solution.problem
    m = multiplier(solution.multiplier)
    return Metric(
        "Budget",
        gbops(solution.budget),
        f"m = {m}",
        f"× all-{problem.widths[-1]}-bit cost",
        f"{m} × {gbops(problem.max_cost)}",
    )


def _infeasible_metrics(solution: Solution) -> list[Metric]:
    """No allocation fits: no cost, utilization or objective to show, only what is missing
    (the BOPs budget's shortfall when that budget is what is too small; else the solver's
    word on which limit cannot be met)."""
    problem = solution.problem
    if not solution.budget < problem.min_cost:  # another limit (or none is on BOPs)
        return [
            Metric(
                "Allocation",
                "Infeasible",
                "none meets the limits",
                f"{solution.solver} solver",
                solution.message,
            )
        ]
    threshold = feasibility_threshold(problem)
    return [
        _budget_metric(solution),
        Metric(
            "Allocation",
            "Infeasible",
            "none fits",
            f"{solution.solver} solver",
            "Even with every layer at its lowest allowed width the cost exceeds the budget.",
        ),
        Metric(
            "Needed",
            gbops(problem.min_cost),
            f"m ≥ {threshold.text}",
            "smallest feasible",
            "The cost with every layer at its lowest allowed width: the cheapest allocation. "
            f"The smallest feasible value on the slider is {solution.min_grid_multiplier:.2f}.",
        ),
        Metric(
            "Shortfall",
            gbops(solution.shortfall),
            "over budget",
            "",
            "How much more than the budget the cheapest allocation costs.",
        ),
    ]


def compact_metrics(solution: Solution, label: str) -> None:
    """One budget in a (narrow) column: its cost, utilization, objective and layer counts."""
    if not solution.feasible:
        st.metric(
            label,
            "Infeasible",
            delta=f"m ≥ {solution.threshold.text}",
            delta_color="off",
            delta_arrow="off",
            delta_description="needed",
            border=True,
        )
        st.caption(plain(solution.message))
        return
    shares = solution.width_shares()
    widths = "/".join(str(r.width) for r in shares)
    counts = "/".join(str(r.layers) for r in shares)
    st.metric(
        label,
        gbops(solution.cost),
        delta=percent(solution.utilization),
        delta_color="off",
        delta_arrow="off",
        delta_description="of the budget",
        border=True,
    )
    st.caption(
        f"objective **{percent(solution.objective_share)}** of max  \n{widths}-bit layers: {counts}"
    )


def current_budget_note(solution: Solution) -> None:
    """Which budget and solver this page shows, and where to change them."""
    st.caption(
        f"At multiplier **{multiplier(solution.multiplier)}** ({gbops(solution.budget)}) with "
        f"the **{solution.solver}** solver: change the budget on the Budget explorer page."
    )
    st.page_link("app_pages/0_Budget_explorer.py", label="Budget explorer", icon=":material/tune:")
    if not solution.feasible:
        st.warning(plain(solution.message), icon=":material/block:")
