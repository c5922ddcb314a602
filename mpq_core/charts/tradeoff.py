"""Several limits at once: how much of each the allocation uses, and the trade-off map of two.

``plot_limits_use`` draws one bullet bar per limit on a common scale: 0 is the limit's
resource with every layer (of its scope) at its cheapest allowed width, 1 at its dearest (the
``r`` scale), so limits in GBOPs, bits and milliseconds sit side by side; the cap is a line,
and the label says whether the limit binds. ``plot_tradeoff_map`` shows the objective over a
grid of two limits (from :func:`mpq_core.sweep.sweep_grid`) with the binding limits of each
cell on hover and the current setting marked.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from ..constraints import Limit
from ..display import gbops, percent
from ..solution import Solution
from .colors import CURRENT, FLOOR, INFEASIBLE, INFEASIBLE_FILL, MUTED, SPENT
from .layout import HALF, WIDE, axis, axis_title, context_line, figure_layout, plain

if TYPE_CHECKING:
    import pandas as pd

ROW_PX = 56
MAP_HEIGHT = 560
_SCALE = [[0.0, "#f7fbff"], [0.35, "#9ecae1"], [0.7, "#3182bd"], [1.0, "#08306b"]]


def _amount(value: float, limit: Limit, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if limit.resource == "bops":
        return gbops(value * 1e9)
    return f"{value:,.4g} {plain(unit)}".rstrip()


def plot_limits_use(solution: Solution, *, title: str | None = "Limits") -> go.Figure:
    """One row per limit: the use (bar) and the cap (line) on the cheapest..dearest scale."""
    rows = list(zip(solution.bounds, solution.limit_uses, strict=True))
    data: list[dict[str, Any]] = []
    labels, annotations = [], []
    for r, (bound, use) in enumerate(rows):
        span = bound.high - bound.low

        def at(value: float, span=span, bound=bound) -> float:
            return (value * bound.scale - bound.low) / span if span > 0 else 1.0

        name = plain(use.limit.label())
        labels.append(name)
        used = at(use.use) if solution.feasible else math.nan
        capped = at(use.cap)
        state = "binds" if use.binds else "slack"
        color = INFEASIBLE if not solution.feasible else (SPENT if use.binds else FLOOR)
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "x": [used if math.isfinite(used) else 0],
                "y": [r],
                "width": 0.45,
                "marker": {"color": color},
                "name": f"use: {name}",
                "showlegend": False,
                "hovertemplate": (
                    f"{name}<br>use {_amount(use.use, use.limit, use.unit)} of "
                    f"{_amount(use.cap, use.limit, use.unit)} "
                    f"({percent(use.utilization) if solution.feasible else 'infeasible'})"
                    "<extra></extra>"
                ),
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": [capped, capped],
                "y": [r - 0.35, r + 0.35],
                "mode": "lines",
                "line": {"color": CURRENT, "width": 3},
                "name": f"cap: {name}",
                "showlegend": False,
                "hovertemplate": f"cap {_amount(use.cap, use.limit, use.unit)}<extra></extra>",
            }
        )
        verdict = state if solution.feasible else "infeasible"
        annotations.append(
            {
                "text": f"{_amount(use.use, use.limit, use.unit)} of "
                f"{_amount(use.cap, use.limit, use.unit)} · <b>{verdict}</b>",
                "x": 1.0,
                "xref": "paper",
                "y": r + 0.42,
                "yref": "y",
                "xanchor": "right",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 12, "color": MUTED if verdict == "slack" else CURRENT},
            }
        )
    height = 150 + ROW_PX * max(len(rows), 1)
    layout = figure_layout(
        file="limits",
        width=HALF,
        height=height,
        title=title,
        subtitle=context_line(solution),
        legend=False,
        bottom=44,
        xaxis=axis(
            title=axis_title("0 = every layer at its cheapest width, 1 = at its dearest"),
            range=[0, 1.05],
            tickformat=".0%",
            showgrid=True,
        ),
        yaxis=axis(
            tickvals=list(range(len(rows))),
            ticktext=labels,
            autorange="reversed",
            range=[len(rows) - 0.4, -0.6],
            showgrid=False,
        ),
        annotations=annotations,
        hovermode="closest",
    )
    return go.Figure({"data": data, "layout": layout})


def plot_tradeoff_map(
    grid: pd.DataFrame,
    x_limit: Limit,
    y_limit: Limit,
    *,
    current: tuple[float, float] | None = None,
    subtitle: str = "",
    title: str | None = "Trade-off of two limits",
) -> go.Figure:
    """The objective (share of the largest reachable) over the grid; grey where infeasible."""
    xs = np.sort(grid["x"].unique())
    ys = np.sort(grid["y"].unique())
    share = grid["objective_share"].where(grid["feasible"]) * 100
    cells = grid.assign(share=share).pivot(index="y", columns="x")
    shares = cells["share"].reindex(index=ys, columns=xs).to_numpy()
    feasible = cells["feasible"].reindex(index=ys, columns=xs).to_numpy().astype(bool)
    binding = cells["binding"].reindex(index=ys, columns=xs).to_numpy()
    z = [[None if math.isnan(v) else float(v) for v in row] for row in shares]
    hover = [
        [
            f"objective {percent(v / 100)} of the maximum<br>binding: {plain(b or 'none')}"
            if ok
            else "no allocation meets these limits"
            for v, ok, b in zip(srow, frow, brow, strict=True)
        ]
        for srow, frow, brow in zip(shares, feasible, binding, strict=True)
    ]
    reached = [v for row in z for v in row if v is not None]
    low = math.floor(min(reached) / 5) * 5 if reached else 0  # colours spread over what is reached
    blocked = [[1 if v is None else None for v in row] for row in z]
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": xs.tolist(),
            "y": ys.tolist(),
            "z": z,
            "customdata": hover,
            "colorscale": _SCALE,
            "zmin": low,
            "zmax": 100,
            "colorbar": {"title": {"text": "objective, % of max"}, "ticksuffix": "%"},
            "hovertemplate": (
                f"{plain(x_limit.resource)} %{{x}} · {plain(y_limit.resource)} %{{y}}<br>"
                "%{customdata}<extra></extra>"
            ),
            "name": "objective",
        },
        {
            "type": "contour",
            "x": xs.tolist(),
            "y": ys.tolist(),
            "z": z,
            "contours": {"coloring": "none", "showlabels": True, "labelfont": {"size": 11}},
            "line": {"color": "rgba(255,255,255,0.75)", "width": 1},
            "ncontours": 8,
            "showscale": False,
            "hoverinfo": "skip",
            "name": "iso-objective lines",
        },
        {
            "type": "heatmap",
            "x": xs.tolist(),
            "y": ys.tolist(),
            "z": blocked,
            "colorscale": [[0, INFEASIBLE_FILL], [1, INFEASIBLE_FILL]],
            "showscale": False,
            "hovertemplate": "no allocation meets these limits<extra></extra>",
            "name": "infeasible",
            "showlegend": any(v is not None for row in blocked for v in row),
        },
    ]
    if current is not None:
        data.append(
            {
                "type": "scatter",
                "x": [current[0]],
                "y": [current[1]],
                "mode": "markers",
                "marker": {
                    "symbol": "x-thin",
                    "size": 16,
                    "line": {"width": 3, "color": "#e36414"},
                },
                "name": "current setting",
                "hovertemplate": "current setting<extra></extra>",
            }
        )
    layout = figure_layout(
        file="tradeoff_map",
        width=WIDE,
        height=MAP_HEIGHT,
        title=title,
        subtitle=subtitle,
        legend=True,
        bottom=50,
        xaxis=axis(title=axis_title(_axis_label(x_limit))),
        yaxis=axis(title=axis_title(_axis_label(y_limit))),
        hovermode="closest",
    )
    return go.Figure({"data": data, "layout": layout})


def _axis_label(limit: Limit) -> str:
    scope = f" of {plain(limit.group)}" if limit.group else ""
    form = {"x": " (× all-top-width)", "r": " (cheapest 0 … dearest 1)"}.get(limit.form, "")
    return f"{plain(limit.resource)}{scope}{form}"
