"""Several limits at once: how much of each the allocation uses, and the trade-off map of two.

``plot_limits_use`` draws one bullet bar per limit on a common scale: 0 is the limit's
resource with every layer (of its scope) at its cheapest allowed width, 1 at its dearest (the
``r`` scale), so limits in GBOPs, bits and milliseconds sit side by side; the cap is a line,
and the label says whether the limit binds. ``plot_tradeoff_map`` shows the objective over a
grid of two limits (from :func:`mpq_core.solving.sweep.sweep_grid`) with the binding limits of each
cell on hover and the current setting marked.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import plotly.graph_objects as go

from ..model.constraints import RESOURCE_UNITS, Limit
from ..report.display import gbops, percent
from ..solving.solution import Solution
from .colors import CURRENT, FLOOR, INFEASIBLE, INFEASIBLE_FILL, MUTED, SPENT
from .layout import (
    HALF,
    TEXT_PX,
    WIDE,
    axis,
    axis_title,
    context_line,
    figure_layout,
    plain,
    text_px,
)

if TYPE_CHECKING:
    import pandas as pd

ROW_PX = 96  # one limit: two lines of text and its bar
MAP_HEIGHT = 560
# light to mid blue: the dark iso-lines and their labels read on every cell
_SCALE = [[0.0, "#f7fbff"], [0.5, "#9ecae1"], [1.0, "#4a90c8"]]


def _amount(value: float, limit: Limit, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if limit.resource == "bops":
        return gbops(value * 1e9)
    return f"{value:,.4g} {plain(unit)}".rstrip()


def plot_limits_use(solution: Solution, *, title: str | None = "Limits") -> go.Figure:
    """One row per limit: the use (bar) and the cap (line) on the cheapest..dearest scale,
    under the limit's label and its use in words."""
    return go.Figure(limits_use_spec(solution, title=title))


def limits_use_spec(solution: Solution, *, title: str | None = "Limits") -> dict[str, Any]:
    """:func:`plot_limits_use` as a plain figure dict (the live views draw it at each step)."""
    rows = list(zip(solution.bounds, solution.limit_uses, strict=True))
    data: list[dict[str, Any]] = []
    annotations = []
    for r, (bound, use) in enumerate(rows):
        traces, note = _limit_row(r, bound, use, solution.feasible)
        data += traces
        annotations.append(note)
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
            title=axis_title("0 = all layers cheapest, 1 = all dearest"),
            range=[0, 1.05],
            tickformat=".0%",
            showgrid=True,
        ),
        yaxis=axis(
            showticklabels=False,
            ticks="",
            range=[len(rows) - 0.5, -0.8],
            showgrid=False,
        ),
        annotations=annotations,
        hovermode="closest",
    )
    return {"data": data, "layout": layout}


def _limit_row(r: int, bound, use, feasible: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Row ``r`` of the limits chart: the use bar, the cap line and the text above them."""
    span = bound.high - bound.low

    def at(value: float) -> float:
        return (value * bound.scale - bound.low) / span if span > 0 else 1.0

    name = plain(use.limit.label())
    used = at(use.use) if feasible else math.nan
    capped = at(use.cap)
    verdict = ("binds" if use.binds else "slack") if feasible else "infeasible"
    color = INFEASIBLE if not feasible else (SPENT if use.binds else FLOOR)
    of = "at least" if use.limit.lower else "of"
    line = "floor" if use.limit.lower else "cap"
    shown_cap = _amount(use.cap, use.limit, use.unit)
    amounts = f"{_amount(use.use, use.limit, use.unit)} {of} {shown_cap}"
    share = percent(use.utilization) if feasible else "infeasible"
    bar = {
        "type": "bar",
        "orientation": "h",
        "x": [used if math.isfinite(used) else 0],
        "y": [r],
        "width": 0.3,
        "marker": {"color": color},
        "name": f"use: {name}",
        "showlegend": False,
        "hovertemplate": f"{name}<br>use {amounts} ({share})<extra></extra>",
    }
    cap = {
        "type": "scatter",
        "x": [capped, capped],
        "y": [r - 0.25, r + 0.25],
        "mode": "lines",
        "line": {"color": CURRENT, "width": 3},
        "name": f"{line}: {name}",
        "showlegend": False,
        "hovertemplate": f"{line} {shown_cap}<extra></extra>",
    }
    words = f"{amounts} · <b>{verdict}</b>"
    one_line = text_px(f"{name} · {words}") <= HALF - 40
    note = {
        "name": f"limit {r}",
        "text": f"<b>{name}</b>" + (" · " if one_line else "<br>") + words,
        "x": 0.0,
        "xref": "paper",
        "y": r - 0.2,
        "yref": "y",
        "xanchor": "left",
        "yanchor": "bottom",
        "align": "left",
        "showarrow": False,
        "font": {"size": TEXT_PX, "color": MUTED if verdict == "slack" else CURRENT},
    }
    return [bar, cap], note


def plot_tradeoff_map(
    grid: pd.DataFrame,
    x_limit: Limit,
    y_limit: Limit,
    *,
    current: tuple[float, float] | None = None,
    subtitle: str = "",
    title: str | None = "Trade-off of two limits",
) -> go.Figure:
    """The objective (share of the largest reachable) over the grid, with dark dotted
    iso-objective lines (labelled, and in the legend); shaded where infeasible."""
    xs, ys, z, hover = _map_cells(grid)
    reached = [v for row in z for v in row if v is not None]
    low = math.floor(min(reached) / 5) * 5 if reached else 0  # colours spread over what is reached
    blocked = [[1 if v is None else None for v in row] for row in z]
    where = f"{axis_label(x_limit)} %{{x}}<br>{axis_label(y_limit)} %{{y}}<br>"
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "x": xs,
            "y": ys,
            "z": z,
            "customdata": hover,
            "colorscale": _SCALE,
            "zmin": low,
            "zmax": 100,
            "colorbar": {
                "title": {"text": "objective (% of max)", "side": "right"},
                "ticksuffix": "%",
            },
            "hovertemplate": where + "%{customdata}<extra></extra>",
            "name": "objective",
        },
        _iso_lines(xs, ys, z),
        {
            "type": "heatmap",
            "x": xs,
            "y": ys,
            "z": blocked,
            "colorscale": [[0, INFEASIBLE_FILL], [1, INFEASIBLE_FILL]],
            "showscale": False,
            "hovertemplate": "no allocation meets these limits<extra></extra>",
            "name": "infeasible",
            "showlegend": any(v is not None for row in blocked for v in row),
        },
        *([] if current is None else [_current_setting(current)]),
    ]
    layout = figure_layout(
        file="tradeoff_map",
        width=WIDE,
        height=MAP_HEIGHT,
        title=title,
        subtitle=subtitle,
        legend=True,
        bottom=50,
        xaxis=axis(title=axis_title(axis_label(x_limit))),
        yaxis=axis(title=axis_title(axis_label(y_limit))),
        hovermode="closest",
    )
    return go.Figure({"data": data, "layout": layout})


def _map_cells(grid: pd.DataFrame) -> tuple[list, list, list[list], list[list[str]]]:
    """The grid's x and y values, the objective of each cell (% of max, None where
    infeasible) and its hover text."""
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
    return xs.tolist(), ys.tolist(), z, hover


def _iso_lines(xs: list, ys: list, z: list[list]) -> dict[str, Any]:
    """Dark dotted iso-objective lines with labels at the text size: they read on every
    cell of the light-to-mid-blue map, and their legend swatch on white."""
    return {
        "type": "contour",
        "x": xs,
        "y": ys,
        "z": z,
        "contours": {
            "coloring": "none",
            "showlabels": True,
            "labelfont": {"size": TEXT_PX, "color": CURRENT},
        },
        "line": {"color": CURRENT, "width": 1.2, "dash": "dot"},
        "ncontours": 8,
        "showscale": False,
        "showlegend": True,
        "hoverinfo": "skip",
        "name": "iso-objective lines",
    }


def _current_setting(current: tuple[float, float]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "x": [current[0]],
        "y": [current[1]],
        "mode": "markers",
        "marker": {"symbol": "x-thin", "size": 16, "line": {"width": 3, "color": "#e36414"}},
        "name": "current setting",
        "hovertemplate": "current setting<extra></extra>",
    }


RESOURCE_NAMES = {
    "bops": "BOPs budget",
    "wbits": "weight memory",
    "mean_wbits": "mean weight bits",
}


def axis_label(limit: Limit) -> str:
    """What an axis of a limit shows, in words: ``BOPs budget (× all-top-width)``,
    ``mean weight bits of content (bits)``, ``t4_latency (cheapest 0 … dearest 1)``."""
    name = RESOURCE_NAMES.get(limit.resource, plain(limit.resource))
    scope = f" of {plain(limit.group)}" if limit.group else ""
    units = {"x": "× all-top-width", "r": "cheapest 0 … dearest 1"}
    shown = units.get(limit.form) or RESOURCE_UNITS.get(limit.resource, "")
    return f"{name}{scope} ({shown})" if shown else f"{name}{scope}"
