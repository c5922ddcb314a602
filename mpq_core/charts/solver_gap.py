"""Where the greedy loses to the exact optimum, across every budget of a two-solver sweep."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..report.display import gap_percent
from ..solving.solution import Solution
from .budget import MULTIPLIER_AXIS
from .colors import SOLVER_COLORS, SOLVER_DASH, SOLVER_SYMBOL
from .layout import (
    WIDE,
    Y_AXIS_PX,
    Panel,
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

SOLVER_GAP_HEIGHT = 620


def plot_solver_gap(
    gap: pd.DataFrame, solution: Solution, *, title: str | None = "Greedy against the optimum"
) -> go.Figure:
    """From :func:`~mpq_core.solver_gap`: how far each solver stays below the LP bound (top, %
    of the bound) and the greedy's gap to the optimum (bottom, % of the exact objective).

    The objectives differ by far less than a line's width, so the top plot shows
    ``(LP bound - objective) / LP bound`` per solver: the bound is the zero line (a trace named
    "LP bound"), the exact line lies on or above it and the greedy line on or above the exact
    one. Each trace's ``customdata`` holds the objective (the bound for "LP bound").
    ``solution`` is the view's current budget (marked) and names the context.
    """
    data = _gap_traces(gap.sort_values("multiplier"))
    shapes, region = infeasible_region(solution.threshold, ("x", "x2"), width=WIDE)
    shapes += current_line(solution.multiplier, ("x", "x2"))
    split = 0.42
    points = [(a, b) for trace in data[1:3] for a, b in zip(trace["x"], trace["y"], strict=True)]
    high = max([b for _, b in points if b is not None] + [0.0]) * 1.06 or 1.0
    upper_px = (SOLVER_GAP_HEIGHT - 200) * (1 - split - 0.1)  # the upper panel, about
    panel = Panel(WIDE - Y_AXIS_PX, upper_px, (0, high), points)
    ticks = {"range": [-0.01, 1.01], "dtick": 0.1}
    layout = figure_layout(
        file=file_stem("solver_gap", [solution.multiplier]),
        width=WIDE,
        height=SOLVER_GAP_HEIGHT,
        title=title,
        subtitle=context_line(solution, solver="greedy vs exact"),
        top=34,  # room for the panel title under the legend
        hovermode="x unified",
        bargap=0.15,
        shapes=shapes,
        xaxis=axis(anchor="y", matches="x2", showticklabels=False, **ticks),
        yaxis=axis(
            title=axis_title("below the LP bound"),
            domain=[split + 0.1, 1],
            rangemode="tozero",
            ticksuffix="%",
            anchor="x",
        ),
        xaxis2=axis(anchor="y2", title=axis_title(MULTIPLIER_AXIS), **ticks),
        yaxis2=axis(
            title=axis_title("greedy gap (% of exact)"),
            domain=[0, split],
            rangemode="tozero",
            ticksuffix="%",
            anchor="x2",
        ),
        annotations=[
            current_label(solution, "x", panel),
            panel_title("Distance to the LP bound", 0.5, 1.0),
            panel_title("Greedy shortfall from the exact optimum", 0.5, split),
            *region,
        ],
    )
    return go.Figure({"data": data, "layout": layout})


def _gap_traces(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """The LP bound (the zero line), each solver's distance below it, the greedy's gap."""
    x = rows["multiplier"].tolist()
    feasible = rows["feasible"]
    bound = rows["lp_bound"].where(feasible & (rows["lp_bound"] > 0))

    def series(values: pd.Series) -> list:
        return none_for_nan(values.where(feasible).tolist())

    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "name": "LP bound",
            "x": x,
            "y": series(bound * 0.0),
            "customdata": series(bound),
            "mode": "lines",
            "line": {"color": "#7b8794", "dash": "dot", "width": 1.5},
            "hovertemplate": "%{customdata:.6g}<extra>LP bound</extra>",
        }
    ]
    for column, name in (("exact_objective", "exact"), ("greedy_objective", "greedy")):
        below = ((bound - rows[column]) / bound * 100).clip(lower=0.0)
        color = SOLVER_COLORS[name]
        data.append(
            {
                "type": "scatter",
                "name": name,
                "x": x,
                "y": series(below),
                "customdata": series(rows[column]),
                "text": [gap_percent(v) for v in below.where(feasible)],
                "mode": "lines+markers",
                "line": {"color": color, "dash": SOLVER_DASH[name], "width": 1.6},
                "marker": {"color": color, "size": 6, "symbol": SOLVER_SYMBOL[name]},
                "hovertemplate": "m = %{x:.2f}: %{customdata:.6g} (%{text} below the bound)"
                "<extra>" + name + "</extra>",
            }
        )
    data.append(
        {
            "type": "bar",
            "name": "greedy gap (% of exact)",
            "x": x,
            "y": series(rows["gap_pct"]),
            "text": [gap_percent(v) for v in rows["gap_pct"].where(feasible)],
            "textposition": "none",
            "marker": {"color": SOLVER_COLORS["exact"]},
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "m = %{x:.2f}: greedy gap %{text}<extra></extra>",
        }
    )
    return data
