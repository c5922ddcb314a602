"""Across every budget of a sweep: what the budget buys, what the next GBOP buys, and how much
of each budget stays unused.

The current budget is drawn by its own traces (named "current budget"), separate from the
curves, so a live view can move the marker without redrawing the curves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ..display import gbops, percent
from ..problem import GIGA
from ..solution import Solution
from .colors import CURRENT, SOLVER_DASH, SOLVER_SYMBOL, solver_color
from .layout import (
    HALF,
    axis,
    axis_title,
    context_line,
    current_label,
    current_line,
    figure_layout,
    file_stem,
    infeasible_region,
    none_for_nan,
    panel_title,
)

BUDGET_CURVE_HEIGHT = 540
SLACK_HEIGHT = 540  # as tall as the budget curve beside it
X_RANGE = [0.0, 1.012]  # room for a marker at multiplier 1
MULTIPLIER_AXIS = "budget multiplier (budget / all-top-width cost)"


def solvers_in(sweep: pd.DataFrame) -> list[str]:
    """The solvers of a sweep: greedy, exact, then any other, in that order."""
    present = list(dict.fromkeys(sweep["solver"].tolist()))
    known = [s for s in ("greedy", "exact") if s in present]
    return known + [s for s in present if s not in known]


def _rows(sweep: pd.DataFrame, solver: str) -> pd.DataFrame:
    return sweep[sweep["solver"] == solver].sort_values("multiplier").reset_index(drop=True)


def marginal_gains(sweep: pd.DataFrame, solver: str) -> pd.DataFrame:
    """What the next step of the sweep buys: one row per pair of neighbouring feasible budgets.

    ``start``/``end`` are the two multipliers, ``gbops`` the budget added and ``gain`` the
    objective gained in percentage points of the maximum; ``per_gbop`` = gain / gbops.
    """
    rows = _rows(sweep, solver)
    rows = rows[rows["feasible"]]
    m = rows["multiplier"].to_numpy(float)
    share = rows["objective_share"].to_numpy(float) * 100
    budget = rows["budget_gbops"].to_numpy(float)
    added = np.diff(budget)
    gain = np.diff(share)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(added > 0, gain / added, np.nan)
    return pd.DataFrame(
        {"start": m[:-1], "end": m[1:], "gbops": added, "gain": gain, "per_gbop": per}
    )


def _gain_at(gains: pd.DataFrame, m: float) -> float | None:
    """The marginal gain of the step that starts at or before ``m`` (the last step at 1)."""
    if gains.empty or m < gains["start"].iloc[0]:
        return None
    index = int(np.searchsorted(gains["start"].to_numpy(), m, side="right")) - 1
    value = float(gains["per_gbop"].iloc[index])
    return value if value > 0 else None


def _view_solver(sweep: pd.DataFrame, solution: Solution) -> str:
    solvers = solvers_in(sweep)
    return solution.solver if solution.solver in solvers else solvers[0]


def budget_curve_spec(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "What the budget buys"
) -> dict[str, Any]:
    """Top: the objective (% of the maximum) at every budget of the sweep. Bottom: what the
    next GBOP of budget buys there (objective points per GBOP, log scale, as steps between
    neighbouring budgets; a step that buys nothing is left out).

    Drawn for the view's solver (the greedy and exact curves differ by less than a line's
    width; the solver-gap chart compares them). The infeasible region is shaded; the current
    budget is a dotted line, a label and two "current budget" marker traces (None at an
    infeasible budget).
    """
    return _budget_curve(_gain_curves(sweep, _view_solver(sweep, solution)), solution, title)


def budget_curve_specs(
    sweep: pd.DataFrame,
    solutions: Sequence[Solution],
    *,
    title: str | None = "What the budget buys",
) -> list[dict[str, Any]]:
    """:func:`budget_curve_spec` at each of ``solutions``; the curves are computed once."""
    curves: dict[str, _GainCurves] = {}
    out = []
    for solution in solutions:
        solver = _view_solver(sweep, solution)
        if solver not in curves:
            curves[solver] = _gain_curves(sweep, solver)
        out.append(_budget_curve(curves[solver], solution, title))
    return out


@dataclass(frozen=True)
class _GainCurves:
    """What the budget curve draws from the sweep alone: the same at every budget."""

    gains: pd.DataFrame
    traces: list[dict[str, Any]]


def _gain_curves(sweep: pd.DataFrame, solver: str) -> _GainCurves:
    rows = _rows(sweep, solver)
    color = solver_color(solver)
    share = (rows["objective_share"] * 100).where(rows["feasible"])
    gains = marginal_gains(sweep, solver)
    per = gains["per_gbop"].where(gains["per_gbop"] > 0)
    step_x = [*gains["start"].tolist(), *gains["end"].tolist()[-1:]]
    step_y = none_for_nan([*per.tolist(), *per.tolist()[-1:]])
    step_text = [
        f"m {a:.2f} → {b:.2f}: +{g:.3g} points for {gbops(n * GIGA)}"
        for a, b, g, n in gains[["start", "end", "gain", "gbops"]].itertuples(index=False)
    ]
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "name": solver,
            "legendgroup": solver,
            "x": rows["multiplier"].tolist(),
            "y": none_for_nan(share.tolist()),
            "mode": "lines",
            "line": {"color": color, "width": 2.2},
            "hovertemplate": "m = %{x:.2f}: objective %{y:.2f}% of max<extra></extra>",
        },
        {
            "type": "scatter",
            "name": solver,
            "legendgroup": solver,
            "showlegend": False,
            "x": step_x,
            "y": step_y,
            "text": [*step_text, *step_text[-1:]],
            "mode": "lines",
            "line": {"color": color, "width": 1.8, "shape": "hv"},
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "%{text}<br>%{y:.3g} points per GBOP<extra></extra>",
        },
    ]
    return _GainCurves(gains, traces)


def _budget_curve(curves: _GainCurves, solution: Solution, title: str | None) -> dict[str, Any]:
    gains = curves.gains
    data: list[dict[str, Any]] = [dict(trace) for trace in curves.traces]
    m = solution.multiplier
    feasible = solution.feasible
    here = _gain_at(gains, m) if feasible else None
    marker = {"color": CURRENT, "size": 11, "symbol": "diamond"}
    data += [
        {
            "type": "scatter",
            "name": "current budget",
            "legendgroup": "current",
            "x": [m],
            "y": [solution.objective_share * 100 if feasible else None],
            "mode": "markers",
            "marker": marker,
            "hovertemplate": "current budget: objective %{y:.2f}% of max<extra></extra>",
        },
        {
            "type": "scatter",
            "name": "current budget",
            "legendgroup": "current",
            "showlegend": False,
            "x": [m],
            "y": [here],
            "mode": "markers",
            "marker": marker,
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "current budget: the next GBOP buys %{y:.3g} points<extra></extra>",
        },
    ]
    shapes, region = infeasible_region(solution.problem.min_multiplier(), ("x", "x2"))
    shapes += current_line(m, ("x", "x2"))
    split = 0.46
    ticks = {"range": X_RANGE, "dtick": 0.1}
    layout = figure_layout(
        file=file_stem("budget_curve", [m]),
        width=HALF,
        height=BUDGET_CURVE_HEIGHT,
        title=title,
        subtitle=context_line(solution),
        legend=False,  # one solver (named in the subtitle); the marks are labelled in place
        top=24,
        hovermode="closest",
        shapes=shapes,
        xaxis=axis(anchor="y", matches="x2", showticklabels=False, **ticks),
        yaxis=axis(
            title=axis_title("objective (% of max)"),
            domain=[split + 0.1, 1],
            range=[0, 105],
            dtick=20,
            ticksuffix="%",
            anchor="x",
        ),
        xaxis2=axis(anchor="y2", title=axis_title(MULTIPLIER_AXIS), **ticks),
        yaxis2=axis(
            title=axis_title("% of max per GBOP (log)"),
            domain=[0, split],
            type="log",
            exponentformat="power",
            dtick=1,
            anchor="x2",
        ),
        annotations=[
            current_label(solution, "x"),
            panel_title("Objective at each budget", 0.5, 1.0),
            panel_title("What the next GBOP buys", 0.5, split),
            *region,
        ],
    )
    return {"data": data, "layout": layout}


def plot_budget_curve(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "What the budget buys"
) -> go.Figure:
    """The figure of :func:`budget_curve_spec` (see there)."""
    return go.Figure(budget_curve_spec(sweep, solution, title=title))


def slack_spec(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "Budget left unused"
) -> dict[str, Any]:
    """Budget minus cost (GBOPs) at every feasible budget, one line per solver of the sweep
    (greedy solid with circles, exact dashed with diamonds), and the current budget's slack
    as a "current budget" marker trace; the infeasible region is shaded."""
    return _slack(_slack_lines(sweep), solution, title)


def slack_specs(
    sweep: pd.DataFrame, solutions: Sequence[Solution], *, title: str | None = "Budget left unused"
) -> list[dict[str, Any]]:
    """:func:`slack_spec` at each of ``solutions``; the lines are computed once."""
    lines = _slack_lines(sweep)
    return [_slack(lines, solution, title) for solution in solutions]


def _slack_lines(sweep: pd.DataFrame) -> list[dict[str, Any]]:
    """One line per solver of the sweep: the same at every budget."""
    data: list[dict[str, Any]] = []
    for solver in solvers_in(sweep):
        rows = _rows(sweep, solver)
        unused = (rows["budget_gbops"] - rows["cost_gbops"]).where(rows["feasible"])
        fraction = (unused / rows["budget_gbops"]).tolist()
        color = solver_color(solver)
        data.append(
            {
                "type": "scatter",
                "name": solver,
                "x": rows["multiplier"].tolist(),
                "y": none_for_nan(unused.tolist()),
                "text": [
                    "" if math.isnan(f) else f"{percent(f, 2)} of the budget" for f in fraction
                ],
                "mode": "lines+markers",
                "line": {"color": color, "width": 1.4, "dash": SOLVER_DASH.get(solver, "dot")},
                "marker": {
                    "color": "white",
                    "size": 6 if solver == "greedy" else 8,
                    "symbol": SOLVER_SYMBOL.get(solver, "square"),
                    "line": {"color": color, "width": 1.4},
                },
                "hovertemplate": "m = %{x:.2f}: %{y:,.1f} GBOPs unused (%{text})<extra>"
                + solver
                + "</extra>",
            }
        )
    return data


def _slack(lines: list[dict[str, Any]], solution: Solution, title: str | None) -> dict[str, Any]:
    data = [dict(line) for line in lines]
    m = solution.multiplier
    slack = (solution.budget - solution.cost) / GIGA if solution.feasible else None
    data.append(
        {
            "type": "scatter",
            "name": "current budget",
            "x": [m],
            "y": [slack],
            "mode": "markers",
            "showlegend": False,  # labelled by the line's "m = ..." instead
            "marker": {"color": CURRENT, "size": 12, "symbol": "star"},
            "hovertemplate": "current budget: %{y:,.1f} GBOPs unused<extra></extra>",
        }
    )
    shapes, region = infeasible_region(solution.problem.min_multiplier())
    shapes += current_line(m)
    layout = figure_layout(
        file=file_stem("slack", [m]),
        width=HALF,
        height=SLACK_HEIGHT,
        title=title,
        subtitle=context_line(solution),
        top=18,
        hovermode="closest",
        shapes=shapes,
        xaxis=axis(title=axis_title(MULTIPLIER_AXIS), range=X_RANGE, dtick=0.1),
        yaxis=axis(
            title=axis_title("unused budget (GBOPs)"), rangemode="tozero", tickformat=",.0f"
        ),
        annotations=[current_label(solution), *region],
    )
    return {"data": data, "layout": layout}


def plot_slack(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "Budget left unused"
) -> go.Figure:
    """The figure of :func:`slack_spec` (see there)."""
    return go.Figure(slack_spec(sweep, solution, title=title))
