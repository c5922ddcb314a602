"""What one budget is made of: the floor every allocation pays, the upgrades, the unused rest.

One horizontal bar on a GBOPs axis that ends at the all-top-width cost (multiplier 1), so the
bar also shows where the budget sits in the range of possible budgets. It replaces a gauge of
cost / budget, which read 99-100% at every feasible budget.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from ..model.problem import GIGA, Problem
from ..report.display import gbops, percent
from ..solving.solution import Solution
from .colors import CURRENT, FLOOR, INFEASIBLE, MUTED, SPENT, TEXT
from .layout import (
    HALF,
    TEXT_PX,
    axis,
    axis_title,
    context_line,
    figure_layout,
    file_stem,
    multiplier_text,
    plain,
)

BUDGET_USE_HEIGHT = 380
_BAR = 0.65  # bar thickness on the row axis: room for its labels
_LINE = 0.5  # half the height of the budget and reference lines


def _bar(name: str, start: float, length: float, color: str, hover: str, **extra: Any) -> dict:
    return {
        "type": "bar",
        "orientation": "h",
        "name": name,
        "x": [length / GIGA],
        "base": [start / GIGA],
        "y": [0],
        "width": _BAR,
        "text": [extra.pop("label", "")],
        "textposition": "inside",
        "insidetextanchor": "middle",
        "textfont": {"color": extra.pop("label_color", "white"), "size": TEXT_PX},
        "marker": {"color": color, "line": {"width": 0}, **extra},
        "hovertemplate": hover + "<extra></extra>",
    }


def _segments(solution: Solution) -> list[dict[str, Any]]:
    problem = solution.problem
    floor, cost, budget = problem.min_cost, solution.cost, solution.budget
    if not solution.feasible:
        return [
            _bar(
                "floor within the budget",
                0,
                budget,
                FLOOR,
                f"the budget: {gbops(budget)}",
                label="floor",
                label_color=TEXT,
            ),
            _bar(
                "floor over the budget",
                budget,
                floor - budget,
                "white",
                f"every layer at its lowest width costs {gbops(floor)}: "
                f"{gbops(floor - budget)} over the budget",
                label="over",
                label_color=INFEASIBLE,
                pattern={"shape": "/", "fgcolor": INFEASIBLE, "size": 7, "solidity": 0.35},
                line={"color": INFEASIBLE, "width": 1.5},
            ),
        ]
    return [
        _bar(
            "floor",
            0,
            floor,
            FLOOR,
            f"floor (every layer at its lowest width): {gbops(floor)}",
            label="floor",
            label_color=TEXT,
        ),
        _bar(
            "upgrades",
            floor,
            cost - floor,
            SPENT,
            f"upgrades: {gbops(cost - floor)} ({percent((cost - floor) / budget)} of the budget)",
            label="upgrades",
        ),
        _bar(
            "unused",
            cost,
            budget - cost,
            "white",
            f"unused: {gbops(budget - cost)} ({percent((budget - cost) / budget, 2)} "
            "of the budget)",
            label="unused",
            label_color=SPENT,
            pattern={"shape": "/", "fgcolor": SPENT, "size": 7, "solidity": 0.3},
            line={"color": SPENT, "width": 1.5},
        ),
    ]


def _summary(solution: Solution) -> str:
    """Three short lines above the bar: the figures the bar shows, in words."""
    problem = solution.problem
    budget, floor = solution.budget, problem.min_cost
    if not solution.feasible:
        return (
            f"<b>Infeasible: {gbops(floor - budget)} short</b><br>"
            f"floor {gbops(floor)}: all layers lowest<br>"
            f"budget {gbops(budget)}"
        )
    unused = budget - solution.cost
    return (
        f"<b>{gbops(unused)} unused</b> ({percent(unused / budget, 2)} of the budget)<br>"
        f"cost {gbops(solution.cost)} of {gbops(budget)}<br>"
        f"floor {gbops(floor)} ({percent(floor / budget)}): all layers lowest"
    )


def _line(name: str, x: float, color: str, hover: str, **line: Any) -> dict[str, Any]:
    return {
        "type": "scatter",
        "name": name,
        "x": [x, x],
        "y": [-_LINE, _LINE],
        "mode": "lines",
        "line": {"color": color, "width": 3, **line},
        "hovertemplate": hover + "<extra></extra>",
    }


def _line_label(text: str, x: float, top: float, *, above: bool, color: str) -> dict[str, Any]:
    right = x > 0.8 * top  # near the axis end the label reads leftwards
    return {
        "name": text,
        "text": text,
        "x": x,
        "y": _LINE if above else -_LINE,
        "xref": "x",
        "yref": "y",
        "xanchor": "right" if right else "left",
        "yanchor": "bottom" if above else "top",
        "xshift": -3 if right else 3,
        "showarrow": False,
        "font": {"size": TEXT_PX, "color": color},
    }


def _reference_name(problem: Problem) -> str:
    """The name and label of the all-top-width cost line (the axis end): ``all-16-bit cost``,
    or ``all-bf16 cost`` for formats."""
    return f"all-{plain(problem.option_labels[-1])} cost"


def _budget_lines(solution: Solution, ink: str) -> list[dict[str, Any]]:
    """The vertical lines: the budget (the current-budget marker) and the all-top-width cost."""
    problem = solution.problem
    m = multiplier_text(solution.multiplier)
    return [
        _line(
            "budget",
            solution.budget / GIGA,
            ink,
            f"budget {gbops(solution.budget)} (m = {m})",
        ),
        _line(
            _reference_name(problem),
            problem.max_cost / GIGA,
            MUTED,
            f"every layer at {plain(problem.option_labels[-1])}: {gbops(problem.max_cost)}"
            if problem.formats is not None
            else f"every layer at {problem.widths[-1]} bits: {gbops(problem.max_cost)}",
            width=1.5,
            dash="dot",
        ),
    ]


def _budget_use_notes(solution: Solution, ink: str) -> list[dict[str, Any]]:
    """The annotations: the summary in words at the top left, then both lines' labels."""
    problem = solution.problem
    top = problem.max_cost / GIGA
    m = multiplier_text(solution.multiplier)
    return [
        {
            "name": "summary",
            "text": _summary(solution),
            "x": 0,
            "y": 1,
            "xref": "paper",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "top",
            "align": "left",
            "showarrow": False,
            "font": {"size": TEXT_PX, "color": ink},
        },
        _line_label(f"budget (m = {m})", solution.budget / GIGA, top, above=True, color=ink),
        _line_label(_reference_name(problem), top, top, above=False, color=MUTED),
    ]


def budget_use_spec(solution: Solution, *, title: str | None = "Budget use") -> dict[str, Any]:
    """The current BOPs budget as floor + upgrades + unused, on 0..the all-top-width cost.

    Traces: the segments (bars with ``base`` and length in GBOPs, labelled inside when they are
    wide enough), "budget" (a vertical line at the budget: the current-budget marker) and the
    all-top-width cost (the axis end), both labelled on the plot (no legend to wrap). At an
    infeasible budget the floor is drawn up to the budget and, hatched, beyond it.
    """
    ink = INFEASIBLE if not solution.feasible else CURRENT
    layout = figure_layout(
        file=file_stem("budget_use", [solution.multiplier]),
        width=HALF,
        height=BUDGET_USE_HEIGHT,
        title=title,
        subtitle=context_line(solution),
        legend=False,
        top=6,
        bottom=40,
        barmode="overlay",
        hovermode="closest",
        uniformtext={"mode": "hide", "minsize": TEXT_PX},
        xaxis=axis(
            title=axis_title("GBOPs (the axis ends at multiplier 1)"),
            range=[0, solution.problem.max_cost / GIGA * 1.02],
            tickformat=",.0f",
            showgrid=True,
        ),
        yaxis=axis(range=[-1.3, 2.8], visible=False, fixedrange=True),
        annotations=_budget_use_notes(solution, ink),
    )
    return {"data": [*_segments(solution), *_budget_lines(solution, ink)], "layout": layout}


def plot_budget_use(solution: Solution, *, title: str | None = "Budget use") -> go.Figure:
    """The figure of :func:`budget_use_spec` (see there)."""
    return go.Figure(budget_use_spec(solution, title=title))
