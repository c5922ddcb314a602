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

from ..model.problem import GIGA
from ..report.display import gbops, percent
from ..solving.solution import Solution
from .colors import AXIS_LINE, CURRENT, MUTED, SOLVER_DASH, SOLVER_SYMBOL, solver_color
from .layout import (
    HALF,
    TEXT_PX,
    Y_AXIS_PX,
    Panel,
    axis,
    axis_title,
    context_line,
    current_label,
    current_line,
    figure_layout,
    file_stem,
    header_px,
    infeasible_region,
    none_for_nan,
    panel_title,
)

BUDGET_CURVE_HEIGHT = 600
SLACK_HEIGHT = 600  # as tall as the budget curve beside it
X_RANGE = [0.0, 1.012]  # room for a marker at multiplier 1
MULTIPLIER_AXIS = "budget multiplier m (budget / all-top-width cost)"
_SPLIT = 0.44  # the lower panel's share of the plot's height
_GAP = 0.12  # between the panels (the lower panel's title)
_CURVE_TOP = 30  # px above the plot for the upper panel's title
_CURVE_BOTTOM = 64  # px below it for the multiplier axis
_SLACK_TOP = 12


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
    return None if math.isnan(value) else value


def _view_solver(sweep: pd.DataFrame, solution: Solution) -> str:
    solvers = solvers_in(sweep)
    return solution.solver if solution.solver in solvers else solvers[0]


def budget_curve_spec(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "What the budget buys"
) -> dict[str, Any]:
    """Top: the objective (% of the maximum) at every budget of the sweep. Bottom: what the
    next GBOP of budget buys there (objective points per GBOP, log scale, as steps between
    neighbouring budgets). A step that buys nothing (common on a small model or a coarse
    ladder, where most 0.01 steps add no upgrade) is drawn on a "0" line under the log scale,
    set apart by a dotted axis break; with fewer than two feasible budgets the panel says so.

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
    scale: _GainScale
    points: list[tuple[float, float | None]]  # the objective curve (multiplier, % of max)


@dataclass(frozen=True)
class _GainScale:
    """The log axis of what the next GBOP buys, and the "0" line under it (``zero`` is the
    value that line sits at, None when no step buys nothing)."""

    zero: float | None
    axis: dict[str, Any]

    def y(self, value: float | None) -> float | None:
        """Where a marginal gain is drawn: itself when positive, on the 0 line otherwise."""
        if value is None or math.isnan(value):
            return None
        return value if value > 0 else self.zero


def _gain_scale(per: pd.Series) -> _GainScale:
    """Decades over the positive gains (with 2 and 5 between them when they span less than
    two), plus a "0" tick a little under them when some step buys nothing."""
    positive = per[per > 0]
    low, high = (positive.min(), positive.max()) if len(positive) else (1.0, 1.0)
    bottom, top = math.log10(low) - 0.25, math.log10(high) + 0.25
    ticks = [10.0**k for k in range(math.ceil(bottom), math.floor(top) + 1)]
    if len(ticks) < 2:
        ticks = [
            f * 10.0**k
            for k in range(math.floor(bottom), math.ceil(top) + 1)
            for f in (1, 2, 5)
            if bottom <= math.log10(f * 10.0**k) <= top
        ]
    text = [_power(t) for t in ticks]
    zero = None
    if (per <= 0).any():
        zero = 10.0 ** (bottom - 0.45)
        ticks, text = [zero, *ticks], ["0", *text]
        bottom = math.log10(zero) - 0.2
    axis = {"range": [bottom, top], "tickvals": ticks, "ticktext": text}
    return _GainScale(zero, axis)


def _power(value: float) -> str:
    """A tick of the log axis: ``0.1``, ``1``, ``10``, ``2``, ``10⁻³`` as 10<sup>−3</sup>."""
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = round(value / 10.0**exponent)
    if -1 <= exponent <= 2:
        return f"{value:g}"
    power = f"10<sup>{str(exponent).replace('-', '−')}</sup>"
    return power if mantissa == 1 else f"{mantissa}×{power}"


def _gain_curves(sweep: pd.DataFrame, solver: str) -> _GainCurves:
    rows = _rows(sweep, solver)
    color = solver_color(solver)
    share = (rows["objective_share"] * 100).where(rows["feasible"])
    gains = marginal_gains(sweep, solver)
    scale = _gain_scale(gains["per_gbop"])
    drawn = [scale.y(v) for v in gains["per_gbop"].tolist()]
    step_x = [*gains["start"].tolist(), *gains["end"].tolist()[-1:]]
    step_text = [
        f"m {a:.2f} → {b:.2f}: {g:+.3g} points for {gbops(n * GIGA)}"
        + ("" if g > 0 else " (buys nothing)")
        for a, b, g, n in gains[["start", "end", "gain", "gbops"]].itertuples(index=False)
    ]
    per_text = [f"{v:.3g}" for v in gains["per_gbop"].tolist()]
    x = rows["multiplier"].tolist()
    y = none_for_nan(share.tolist())
    traces: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "name": solver,
            "legendgroup": solver,
            "x": x,
            "y": y,
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
            "y": [*drawn, *drawn[-1:]],
            "text": [*step_text, *step_text[-1:]],
            "customdata": [*per_text, *per_text[-1:]],
            "mode": "lines",
            "line": {"color": color, "width": 1.8, "shape": "hv"},
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "%{text}<br>%{customdata} points per GBOP<extra></extra>",
        },
    ]
    return _GainCurves(gains, traces, scale, list(zip(x, y, strict=True)))


def _budget_curve(curves: _GainCurves, solution: Solution, title: str | None) -> dict[str, Any]:
    gains, scale = curves.gains, curves.scale
    m = solution.multiplier
    here = scale.y(_gain_at(gains, m)) if solution.feasible else None
    share = solution.objective_share * 100 if solution.feasible else None
    data = [dict(trace) for trace in curves.traces] + _current_markers(m, share, here)
    subtitle = context_line(solution)
    shapes, region = infeasible_region(solution.threshold, ("x", "x2"))
    shapes += current_line(m, ("x", "x2")) + _axis_break(scale)
    plot_px = BUDGET_CURVE_HEIGHT - _CURVE_BOTTOM - _CURVE_TOP
    plot_px -= header_px(legend=False, title=title, subtitle=subtitle, width=HALF)
    panel = Panel(HALF - Y_AXIS_PX, plot_px * (1 - _SPLIT - _GAP), (0.0, 105.0), curves.points)
    ticks = {"range": X_RANGE, "dtick": 0.2}
    layout = figure_layout(
        file=file_stem("budget_curve", [m]),
        width=HALF,
        height=BUDGET_CURVE_HEIGHT,
        title=title,
        subtitle=subtitle,
        legend=False,  # one solver (named in the subtitle); the marks are labelled in place
        top=_CURVE_TOP,
        bottom=_CURVE_BOTTOM,
        hovermode="closest",
        shapes=shapes,
        xaxis=axis(anchor="y", matches="x2", showticklabels=False, **ticks),
        yaxis=axis(
            title=axis_title("objective"),
            domain=[_SPLIT + _GAP, 1],
            range=[0, 105],
            dtick=25,
            ticksuffix="%",
            anchor="x",
        ),
        xaxis2=axis(anchor="y2", title=axis_title(MULTIPLIER_AXIS), **ticks),
        yaxis2=axis(
            title=axis_title("% of max per GBOP"),
            domain=[0, _SPLIT],
            type="log",
            anchor="x2",
            **scale.axis,
        ),
        annotations=[
            current_label(solution, "x", panel),
            panel_title("Objective at each budget", 0.5, 1.0),
            panel_title("What the next GBOP buys (log scale)", 0.5, _SPLIT),
            *region,
            *_no_steps(gains),
        ],
    )
    return {"data": data, "layout": layout}


def _current_markers(m: float, share: float | None, here: float | None) -> list[dict[str, Any]]:
    """The current budget on both panels (None where it is infeasible)."""
    marker = {"color": CURRENT, "size": 12, "symbol": "diamond"}
    return [
        {
            "type": "scatter",
            "name": "current budget",
            "legendgroup": "current",
            "x": [m],
            "y": [share],
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


def _axis_break(scale: _GainScale) -> list[dict[str, Any]]:
    """A dotted line across the lower panel between the "0" line and the log scale."""
    if scale.zero is None:
        return []
    at = 10.0 ** (math.log10(scale.zero) + 0.25)
    return [
        {
            "type": "line",
            "name": "axis break",
            "xref": "x2 domain",
            "yref": "y2",
            "x0": 0,
            "x1": 1,
            "y0": at,
            "y1": at,
            "line": {"color": AXIS_LINE, "width": 1.5, "dash": "dot"},
        }
    ]


def _no_steps(gains: pd.DataFrame) -> list[dict[str, Any]]:
    """A note in the lower panel when there are fewer than two feasible budgets."""
    if not gains.empty:
        return []
    return [
        {
            "name": "no steps",
            "text": "fewer than two feasible budgets: no step to measure",
            "x": 0.5,
            "y": _SPLIT / 2,
            "xref": "paper",
            "yref": "paper",
            "showarrow": False,
            "font": {"size": TEXT_PX, "color": MUTED},
        }
    ]


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
    subtitle = context_line(solution)
    shapes, region = infeasible_region(solution.threshold)
    shapes += current_line(m)
    points = [(x, y) for line in lines for x, y in zip(line["x"], line["y"], strict=True)]
    high = max([y for _, y in points if y is not None] + [0.0]) * 1.06 or 1.0
    plot_px = SLACK_HEIGHT - _CURVE_BOTTOM - _SLACK_TOP
    plot_px -= header_px(legend=True, title=title, subtitle=subtitle, width=HALF)
    panel = Panel(HALF - Y_AXIS_PX, plot_px, (0.0, high), points)
    layout = figure_layout(
        file=file_stem("slack", [m]),
        width=HALF,
        height=SLACK_HEIGHT,
        title=title,
        subtitle=subtitle,
        top=_SLACK_TOP,
        bottom=_CURVE_BOTTOM,
        hovermode="closest",
        shapes=shapes,
        xaxis=axis(title=axis_title(MULTIPLIER_AXIS), range=X_RANGE, dtick=0.2),
        yaxis=axis(
            title=axis_title("unused budget (GBOPs)"),
            rangemode="tozero",
            separatethousands=True,
        ),
        annotations=[current_label(solution, "x", panel), *region],
    )
    return {"data": data, "layout": layout}


def plot_slack(
    sweep: pd.DataFrame, solution: Solution, *, title: str | None = "Budget left unused"
) -> go.Figure:
    """The figure of :func:`slack_spec` (see there)."""
    return go.Figure(slack_spec(sweep, solution, title=title))
