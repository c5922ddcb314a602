"""Plotly figure builders: pure functions of Problem, Solution and sweep tables (no Streamlit).

Every builder returns a new ``go.Figure`` sized for a wide screen and for screenshots; the app,
the reports and the tests all use the same figures. Widths get one fixed colour each (low widths
warm, the top width cool), the same in every chart.

Figures are assembled as plain dicts and validated once by ``go.Figure`` (no named template, no
``make_subplots``/``update_*`` calls): that keeps a dashboard rerun within its time budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.colors as pc
import plotly.graph_objects as go

from .blocks import group_blocks
from .problem import GIGA
from .solution import Solution
from .sweep import pareto_front

GAUGE_HEIGHT = 270
SWEEP_HEIGHT = 460  # the cost curve and the trade-off, side by side
SWEEP_TOP = 24  # room for the "m = ..." label above the plot
UTILIZATION_BANDS = (80.0, 95.0)  # % of the budget: under-used / close / full
BAND_COLORS = ("#f9dcdc", "#fcefc7", "#d5eedd")  # dial background per band
BAND_BAR_COLORS = ("#d1495b", "#e09f3e", "#2a9d8f")  # the needle bar, by the band it is in
INFEASIBLE_FILL = "rgba(209, 73, 91, 0.12)"
INFEASIBLE_LEGEND = "rgba(209, 73, 91, 0.22)"  # a legend swatch needs a little more colour
INFEASIBLE_EDGE = "rgba(209, 73, 91, 0.55)"
BUDGET_COLOR = "#d1495b"  # the budget line, as the gauge's 100 % mark
OVER_BUDGET_FILL = "#f3c4c9"
OVER_BUDGET_COLOR = "#9b2335"
CURRENT_COLOR = "#2b2d42"
PIN_COLOR = "#111111"
SOLVER_COLORS = {"greedy": "#3d5a80", "exact": "#e07a5f"}
FONT = {
    "family": '"Source Sans", "Source Sans Pro", Inter, "Segoe UI", Helvetica, Arial, sans-serif',
    "size": 13,
    "color": "#1f2933",
}
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
GRID = "#e6eaef"

_WIDTH_SCALE = [[0.0, "#d1495b"], [0.5, "#edae49"], [1.0, "#00798c"]]
_HEATMAP_ROW_PX = 30
_HEATMAP_ROW_PX_COMPACT = 24
_TEXT_CELLS_MAX = 64  # widest block that still gets its widths printed in the cells


def width_colors(widths: Sequence[int]) -> dict[int, str]:
    """One colour per width of the ladder, from warm (lowest) to cool (highest)."""
    widths = list(widths)
    if len(widths) == 1:
        return {widths[0]: _WIDTH_SCALE[-1][1]}
    points = [j / (len(widths) - 1) for j in range(len(widths))]
    return dict(zip(widths, pc.sample_colorscale(_WIDTH_SCALE, points), strict=True))


def width_label(width: int) -> str:
    return f"{width}-bit"


# --- layout helpers --------------------------------------------------------------------------


def _axis(**extra: Any) -> dict[str, Any]:
    return {
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": "#c5ccd3",
        "ticks": "outside",
        "tickcolor": "#c5ccd3",
        "automargin": True,
        **extra,
    }


def _title(text: str) -> dict[str, Any]:
    return {"text": text, "font": {"size": 12}}


def _legend(**extra: Any) -> dict[str, Any]:
    return {
        "orientation": "h",
        "yanchor": "bottom",
        "y": 1.02,
        "xanchor": "left",
        "x": 0.0,
        "bgcolor": "rgba(255,255,255,0)",
        **extra,
    }


def _inside_legend(**position: Any) -> dict[str, Any]:
    """A vertical legend on a white card inside the plot area (for half-width figures)."""
    return {
        "bgcolor": "rgba(255,255,255,0.9)",
        "bordercolor": GRID,
        "borderwidth": 1,
        "font": {"size": 12},
        "tracegroupgap": 0,  # compact: it sits on the plot
        **position,
    }


def _layout(height: int, title: str | None, *, top: int = 30, **extra: Any) -> dict[str, Any]:
    return {
        "height": height,
        "title": {
            "text": title,
            "x": 0.0,
            "xanchor": "left",
            "xref": "container",
            "y": 1.0,
            "yanchor": "top",
            "yref": "container",
            "pad": {"t": 10, "l": 4},
            "font": {"size": 16},
        }
        if title
        else None,
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 10, "r": 10, "t": top + (34 if title else 0), "b": 10},
        "hoverlabel": {"font": {"size": 12}, "align": "left"},
        **extra,
    }


def _subplot_title(text: str, x: float) -> dict[str, Any]:
    return {
        "text": f"<b>{text}</b>",
        "x": x,
        "y": 1.0,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "yshift": 6,
        "showarrow": False,
        "font": {"size": 13},
    }


def _vline(x: float, name: str) -> dict[str, Any]:
    return {
        "type": "line",
        "name": name,
        "xref": "x",
        "yref": "paper",
        "x0": x,
        "x1": x,
        "y0": 0,
        "y1": 1,
        "line": {"color": CURRENT_COLOR, "width": 1.5, "dash": "dot"},
    }


def _infeasible(min_multiplier: float) -> tuple[list[dict], list[dict]]:
    """The shaded region below the smallest feasible multiplier and its legend entry.

    The label is a legend entry, not text in the region: the strip is often too narrow for it.
    """
    if min_multiplier <= 0:
        return [], []
    edge = min(min_multiplier, 1.0)
    shape = {
        "type": "rect",
        "name": "infeasible",
        "xref": "x",
        "yref": "paper",
        "x0": 0,
        "x1": edge,
        "y0": 0,
        "y1": 1,
        "fillcolor": INFEASIBLE_FILL,
        "line": {"width": 0},
        "layer": "below",
    }
    entry = {
        "type": "scatter",
        "name": f"infeasible (m < {min_multiplier:.3f})",
        "x": [None],
        "y": [None],
        "mode": "markers",
        "marker": {
            "symbol": "square",
            "size": 13,
            "color": INFEASIBLE_LEGEND,
            "line": {"color": INFEASIBLE_EDGE, "width": 1},
        },
        "hoverinfo": "skip",
        "legendrank": 2000,  # last: after the lines it explains
    }
    return [shape], [entry]


def _none_for_nan(values: Sequence[Any]) -> list[Any]:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


# --- per-block bit heatmap ------------------------------------------------------------------


def plot_bit_heatmap(
    solution: Solution,
    *,
    title: str | None = "Weight bits per layer, by block",
    compact: bool = False,
    cell_text: bool = False,
    legend: bool = True,
) -> go.Figure:
    """One row per block (network order), layers in file order along x, one colour per width.

    ``z`` holds the index of each layer's width in the ladder (NaN pads short rows);
    ``customdata`` holds each cell's layer name (None for padding) and ``hovertext`` its name,
    type, MACs, share of the model's BOPs, sensitivity and width. Pinned cells are outlined
    (shapes named "pinned"). ``cell_text`` prints each width in its cell (for wide exports);
    ``legend=False`` leaves the width legend out (for a stack of heatmaps that share one).
    """
    problem = solution.problem
    blocks = group_blocks(problem.names)
    widths = problem.widths
    colors = width_colors(widths)
    k = len(widths)
    ncols = max(len(b.layers) for b in blocks)
    nrows = len(blocks)

    bops = solution.layer_bops()
    total = math.fsum(bops.tolist())
    share = (bops / total if total > 0 else np.zeros_like(bops)).tolist()
    wbits, abits = solution.wbits.tolist(), solution.abits.tolist()
    choice = solution.choice.tolist()
    macs, sens = problem.macs.tolist(), problem.sensitivity.tolist()
    pinned, allowed = problem.pinned.tolist(), problem.allowed.tolist()

    z: list[list[float | None]] = [[None] * ncols for _ in range(nrows)]
    names: list[list[str | None]] = [[None] * ncols for _ in range(nrows)]
    hover: list[list[str]] = [[""] * ncols for _ in range(nrows)]
    text: list[list[str]] = [[""] * ncols for _ in range(nrows)]
    pin_x: list[int] = []
    pin_y: list[int] = []
    row_labels = [f"{b.name} ({len(b.layers)})" for b in blocks]
    for r, block in enumerate(blocks):
        for c, i in enumerate(block.layers):
            name = problem.names[i]
            z[r][c] = choice[i]
            names[r][c] = name
            text[r][c] = str(wbits[i])
            pin_note = ""
            if pinned[i]:
                kept = "/".join(str(w) for w, ok in zip(widths, allowed[i], strict=True) if ok)
                pin_note = f"<br>pinned to {kept} bits"
                pin_x.append(c + 1)
                pin_y.append(r)
            hover[r][c] = (
                f"<b>{name}</b><br>"
                f"type: {problem.types[i] or 'n/a'}<br>"
                f"MACs: {macs[i]:,.0f}<br>"
                f"share of BOPs: {share[i]:.2%}<br>"
                f"sensitivity: {sens[i]:.4g}<br>"
                f"width: W{wbits[i]} A{abits[i]}{pin_note}"
            )

    # discrete colours: option j fills [j - 0.5, j + 0.5] of zmin..zmax = -0.5..k-0.5
    scale = []
    for j, width in enumerate(widths):
        scale += [[j / k, colors[width]], [(j + 1) / k, colors[width]]]
    show_text = cell_text and ncols <= _TEXT_CELLS_MAX
    data: list[dict[str, Any]] = [
        {
            "type": "heatmap",
            "name": "layers",
            "z": z,
            "x": list(range(1, ncols + 1)),
            "y": row_labels,
            "customdata": names,
            "hovertext": hover,
            "text": text,
            "texttemplate": "%{text}" if show_text else "",
            "textfont": {"size": 10},
            "hovertemplate": "%{hovertext}<extra></extra>",
            "colorscale": scale,
            "zmin": -0.5,
            "zmax": k - 0.5,
            "showscale": False,
            "xgap": 2,
            "ygap": 3,
            "hoverongaps": False,
        }
    ]
    for width, abit in zip(widths, problem.abits, strict=True):
        data.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "marker": {"symbol": "square", "size": 14, "color": colors[width]},
                "name": f"W{width} · A{abit}",
                "hoverinfo": "skip",
            }
        )
    shapes = [
        {
            "type": "rect",
            "name": "pinned",
            "xref": "x",
            "yref": "y",
            "x0": x - 0.5,
            "x1": x + 0.5,
            "y0": row - 0.5,
            "y1": row + 0.5,
            "line": {"color": PIN_COLOR, "width": 2.5},
        }
        for x, row in zip(pin_x, pin_y, strict=True)
    ]
    if shapes:
        data.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "marker": {
                    "symbol": "square-open",
                    "size": 14,
                    "color": PIN_COLOR,
                    "line": {"width": 2.5},
                },
                "name": "pinned",
                "hoverinfo": "skip",
            }
        )
    row_px = _HEATMAP_ROW_PX_COMPACT if compact else _HEATMAP_ROW_PX
    layout = _layout(
        (40 if legend else 14) + row_px * nrows + (30 if compact else 66),
        title,
        top=34 if legend else 8,
        showlegend=legend,
        legend=_legend(title={"text": "weight · activation bits  "}),
        xaxis=_axis(
            title=None if compact else _title("layer position in the block (file order)"),
            range=[0.5, ncols + 0.5],
            showgrid=False,
            tick0=5,
            dtick=5,
        ),
        shapes=shapes,
        yaxis=_axis(
            type="category",
            categoryorder="array",
            categoryarray=row_labels,
            autorange="reversed",
            showgrid=False,
            ticks="",
            tickfont={"family": MONO, "size": 12},
        ),
    )
    return go.Figure({"data": data, "layout": layout})


# --- distribution and gauge ----------------------------------------------------------------


def plot_distribution(
    solution: Solution, *, title: str | None = "Bit-width distribution"
) -> go.Figure:
    """Layer count per width (left) and each width's share of the BOPs (right)."""
    colors = width_colors(solution.problem.widths)
    rows = solution.distribution()
    labels = [width_label(w) for w, _, _ in rows]
    bar_colors = [colors[w] for w, _, _ in rows]
    counts = [count for _, count, _ in rows]
    shares = [share * 100 for _, _, share in rows]
    data = [
        {
            "type": "bar",
            "name": "layers",
            "x": labels,
            "y": counts,
            "marker": {"color": bar_colors},
            "text": [str(c) for c in counts],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{x}: %{y} layers<extra></extra>",
            "xaxis": "x",
            "yaxis": "y",
        },
        {
            "type": "bar",
            "name": "share of BOPs",
            "x": labels,
            "y": shares,
            "marker": {"color": bar_colors},
            "text": [f"{s:.1f}%" for s in shares],
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{x}: %{y:.2f} % of the BOPs<extra></extra>",
            "xaxis": "x2",
            "yaxis": "y2",
        },
    ]
    layout = _layout(
        340,
        title,
        top=36,
        showlegend=False,
        bargap=0.35,
        xaxis=_axis(domain=[0, 0.43], type="category", anchor="y"),
        yaxis=_axis(title=_title("layers"), range=[0, max([*counts, 1]) * 1.2], anchor="x"),
        xaxis2=_axis(domain=[0.57, 1], type="category", anchor="y2"),
        yaxis2=_axis(
            title=_title("% of BOPs"), range=[0, 120], tickvals=list(range(0, 101, 20)), anchor="x2"
        ),
        annotations=[
            _subplot_title("Layers per width", 0.215),
            _subplot_title("Share of the BOPs", 0.785),
        ],
    )
    return go.Figure({"data": data, "layout": layout})


def utilization_band(percent: float) -> int:
    """0 below 80 %, 1 from 80 to 95 %, 2 above 95 %."""
    low, high = UTILIZATION_BANDS
    return 0 if percent < low else (1 if percent <= high else 2)


def plot_utilization_gauge(
    solution: Solution, *, title: str | None = "Budget utilization"
) -> go.Figure:
    """Cost / budget in %, on a dial with the bands <80 / 80-95 / >95 %.

    The ticks are round numbers; the band edges show as colour only (80 and 95 as tick labels
    would crowd each other on a small dial).
    """
    value = solution.utilization * 100
    top = 100.0 if value <= 100 else math.ceil(value / 50) * 50
    low, high = UTILIZATION_BANDS
    step = 20 if top <= 100 else 50  # over budget (infeasible) the dial runs past 100 %
    ticks = list(range(0, int(top) + 1, step))
    steps = [
        {"range": [0, low], "color": BAND_COLORS[0], "name": f"< {low:g} %"},
        {"range": [low, high], "color": BAND_COLORS[1], "name": f"{low:g}-{high:g} %"},
        {"range": [high, 100], "color": BAND_COLORS[2], "name": f"> {high:g} %"},
    ]
    bar = BAND_BAR_COLORS[utilization_band(value)]
    if top > 100:  # an infeasible budget: the all-lowest allocation costs more than it
        steps.append({"range": [100, top], "color": OVER_BUDGET_FILL, "name": "over budget"})
        bar = OVER_BUDGET_COLOR
    indicator = {
        "type": "indicator",
        "mode": "gauge+number",
        "value": value,
        "number": {"suffix": " %", "valueformat": ".1f", "font": {"size": 36}},
        "gauge": {
            "axis": {"range": [0, top], "tickvals": ticks, "tickfont": {"size": 12}},
            "bar": {"color": bar, "thickness": 0.4},
            "bgcolor": "white",
            "borderwidth": 0,
            "steps": steps,
            "threshold": {"line": {"color": BUDGET_COLOR, "width": 3}, "value": 100},
        },
        "domain": {"x": [0, 1], "y": [0, 1]},
    }
    layout = _layout(GAUGE_HEIGHT, title, top=16)
    layout["margin"].update(l=28, r=28, b=6)
    return go.Figure({"data": [indicator], "layout": layout})


# --- sweeps --------------------------------------------------------------------------------


def _solvers_in(sweep: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(sweep["solver"].tolist()))
    known = [s for s in ("greedy", "exact") if s in present]
    return known + [s for s in present if s not in known]


def _feasible_series(sweep: pd.DataFrame, solver: str, column: str) -> tuple[list, list]:
    """(multipliers, values) of one solver, None where the budget is infeasible."""
    rows = sweep[sweep["solver"] == solver].sort_values("multiplier")
    values = rows[column].where(rows["feasible"]).tolist()
    return rows["multiplier"].tolist(), _none_for_nan(values)


def _stacked_axes(top_title: str, bottom_title: str, split: float) -> dict[str, Any]:
    """Two plots sharing the multiplier axis: x/y on top, x2/y2 below."""
    ticks = {"range": [0, 1], "dtick": 0.1}
    return {
        "xaxis": _axis(anchor="y", matches="x2", showticklabels=False, **ticks),
        "yaxis": _axis(title=_title(top_title), domain=[split + 0.06, 1], anchor="x"),
        "xaxis2": _axis(anchor="y2", title=_title("budget multiplier"), **ticks),
        "yaxis2": _axis(title=_title(bottom_title), domain=[0, split], anchor="x2"),
    }


def plot_cost_curve(
    sweep: pd.DataFrame,
    solution: Solution,
    *,
    title: str | None = "Cost and objective by budget",
) -> go.Figure:
    """Cost (GBOPs, top) and objective (% of max, bottom) against the multiplier.

    One line per solver in the sweep, named after the solver (the cost line on the x/y axes,
    the objective line on x2/y2; one legend entry for both). The budget line is drawn over
    the cost lines (the cost sits just under the budget almost everywhere); the infeasible
    region (below the smallest feasible multiplier) and the current budget (markers and a
    dotted line, all named "current budget") are drawn too.
    """
    data: list[dict[str, Any]] = []
    for solver in _solvers_in(sweep):
        style = {
            "color": SOLVER_COLORS.get(solver, "#6c757d"),
            "dash": "solid" if solver == "greedy" else "dash",
            "width": 2.2,
        }
        common = {"type": "scatter", "name": solver, "legendgroup": solver, "mode": "lines"}
        x, cost = _feasible_series(sweep, solver, "cost_gbops")
        data.append(
            common
            | {
                "x": x,
                "y": cost,
                "line": style,
                "hovertemplate": "cost %{y:,.1f} GBOPs<extra>" + solver + "</extra>",
            }
        )
        x, share = _feasible_series(sweep, solver, "objective_share")
        data.append(
            common
            | {
                "x": x,
                "y": [None if v is None else v * 100 for v in share],
                "line": style,
                "showlegend": False,
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": "objective %{y:.2f} %<extra>" + solver + "</extra>",
            }
        )
    budget_rows = sweep.drop_duplicates("multiplier").sort_values("multiplier")
    data.append(
        {
            "type": "scatter",
            "name": "budget",
            "x": budget_rows["multiplier"].tolist(),
            "y": budget_rows["budget_gbops"].tolist(),
            "mode": "lines",
            "line": {"color": BUDGET_COLOR, "dash": "dot", "width": 2},
            "legendrank": 900,  # first in the legend, drawn last (on top of the cost)
            "hovertemplate": "budget %{y:,.1f} GBOPs<extra></extra>",
        }
    )
    m = solution.multiplier
    current = {
        "type": "scatter",
        "name": "current budget",
        "mode": "markers",
        "marker": {"color": CURRENT_COLOR, "size": 11, "symbol": "diamond"},
        "showlegend": False,
    }
    data.append(
        current
        | {
            "x": [m],
            "y": [solution.cost / GIGA],
            "hovertemplate": "current (m = %{x:.3f})<br>cost %{y:,.1f} GBOPs<extra></extra>",
        }
    )
    data.append(
        current
        | {
            "x": [m],
            "y": [solution.objective_share * 100],
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "current (m = %{x:.3f})<br>objective %{y:.2f} %<extra></extra>",
        }
    )
    shapes, region = _infeasible(solution.min_multiplier)
    data += region
    shapes.append(_vline(m, "current budget"))
    notes = [
        {
            "text": f"m = {m:.2f}",
            "x": m,
            "y": 1.0,
            "xref": "x",
            "yref": "paper",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 11, "color": CURRENT_COLOR},
        }
    ]
    axes = _stacked_axes("cost (GBOPs)", "objective (% of max)", 0.4)
    axes["yaxis"]["rangemode"] = "tozero"
    axes["yaxis2"]["range"] = [0, 105]
    layout = _layout(
        SWEEP_HEIGHT,
        title,
        top=SWEEP_TOP,
        legend=_inside_legend(x=0.01, y=0.99, xanchor="left", yanchor="top"),
        hovermode="x unified",
        shapes=shapes,
        annotations=notes,
        **axes,
    )
    return go.Figure({"data": data, "layout": layout})


def plot_tradeoff(
    sweep: pd.DataFrame,
    solution: Solution,
    *,
    title: str | None = "Objective against cost",
) -> go.Figure:
    """Every feasible swept budget as a point and each solver's Pareto front as a line.

    The fronts are thin lines under the points (every budget of a monotone solver lies on its
    front: a thick line would hide them); the points are hollow, one symbol per solver.
    """
    lines: list[dict[str, Any]] = []
    points: list[dict[str, Any]] = []
    for rank, solver in enumerate(_solvers_in(sweep)):
        color = SOLVER_COLORS.get(solver, "#6c757d")
        rows = sweep[(sweep["solver"] == solver) & sweep["feasible"]]
        hover = (
            "m = %{customdata:.2f}<br>cost %{x:,.1f} GBOPs<br>objective %{y:.2f} %<extra>"
            + solver
            + "</extra>"
        )
        points.append(
            {
                "type": "scatter",
                "name": f"budgets ({solver})",
                "legendgroup": solver,
                "legendrank": 10 * rank + 1,
                "x": rows["cost_gbops"].tolist(),
                "y": (rows["objective_share"] * 100).tolist(),
                "customdata": rows["multiplier"].tolist(),
                "mode": "markers",
                "marker": {
                    "color": "white",
                    "size": 7 if solver == "greedy" else 11,  # a circle inside a diamond
                    "symbol": "circle" if solver == "greedy" else "diamond",
                    "line": {"color": color, "width": 1.4},
                },
                "hovertemplate": hover,
            }
        )
        front = pareto_front(sweep, solver)
        lines.append(
            {
                "type": "scatter",
                "name": f"Pareto front ({solver})",
                "legendgroup": solver,
                "legendrank": 10 * rank + 2,
                "x": front["cost_gbops"].tolist(),
                "y": (front["objective_share"] * 100).tolist(),
                "customdata": front["multiplier"].tolist(),
                "mode": "lines",
                "line": {
                    "color": color,
                    "width": 1.3,
                    "dash": "solid" if solver == "greedy" else "dash",
                },
                "hovertemplate": hover,
            }
        )
    data = lines + points[::-1]  # points on top of every line, the greedy's on top of all
    if solution.feasible:
        data.append(
            {
                "type": "scatter",
                "name": "current budget",
                "x": [solution.cost / GIGA],
                "y": [solution.objective_share * 100],
                "mode": "markers",
                "marker": {"color": CURRENT_COLOR, "size": 15, "symbol": "star"},
                "hovertemplate": "current<br>cost %{x:,.1f} GBOPs<br>objective %{y:.2f} %"
                "<extra></extra>",
            }
        )
    layout = _layout(
        SWEEP_HEIGHT,
        title,
        top=SWEEP_TOP,  # as the cost curve, so the two plot areas line up side by side
        # inside, bottom right: the front rises along the left and top
        legend=_inside_legend(x=0.98, y=0.03, xanchor="right", yanchor="bottom"),
        xaxis=_axis(title=_title("cost (GBOPs)"), rangemode="tozero"),
        yaxis=_axis(title=_title("objective (% of max)"), range=[0, 105]),
    )
    return go.Figure({"data": data, "layout": layout})


def plot_solver_gap(
    gap: pd.DataFrame,
    *,
    multiplier: float | None = None,
    min_multiplier: float = 0.0,
    title: str | None = "Greedy against the optimum",
) -> go.Figure:
    """From :func:`solver_gap`: how far each solver stays below the LP bound (top, in % of the
    bound) and the greedy's gap to the optimum (bottom, in % of the exact objective).

    The objectives themselves differ by far less than a line's width, so the top plot shows
    ``(LP bound - objective) / LP bound`` per solver: the bound is the zero line (a trace named
    "LP bound"), the exact line lies on or above it and the greedy line on or above the exact
    one. Each trace's ``customdata`` holds the objective (the bound for "LP bound").
    """
    rows = gap.sort_values("multiplier")
    x = rows["multiplier"].tolist()
    feasible = rows["feasible"]
    bound = rows["lp_bound"].where(feasible & (rows["lp_bound"] > 0))

    def series(values: pd.Series) -> list:
        return _none_for_nan(values.where(feasible).tolist())

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
    for column, name, color, dash, symbol in (
        ("exact_objective", "exact", SOLVER_COLORS["exact"], "dash", "diamond"),
        ("greedy_objective", "greedy", SOLVER_COLORS["greedy"], "solid", "circle"),
    ):
        below = ((bound - rows[column]) / bound * 100).clip(lower=0.0)
        data.append(
            {
                "type": "scatter",
                "name": name,
                "x": x,
                "y": series(below),
                "customdata": series(rows[column]),
                "mode": "lines+markers",
                "line": {"color": color, "dash": dash, "width": 1.6},
                "marker": {"color": color, "size": 5, "symbol": symbol},
                "hovertemplate": "%{customdata:.6g} (%{y:.4f} % below the bound)<extra>"
                + name
                + "</extra>",
            }
        )
    data.append(
        {
            "type": "bar",
            "name": "greedy gap (% of exact)",
            "x": x,
            "y": series(rows["gap_pct"]),
            "marker": {"color": SOLVER_COLORS["exact"]},
            "xaxis": "x2",
            "yaxis": "y2",
            "hovertemplate": "greedy gap %{y:.4f} %<extra></extra>",
        }
    )
    shapes, region = _infeasible(min_multiplier)
    data += region
    if multiplier is not None:
        shapes.append(_vline(multiplier, "current budget"))
    axes = _stacked_axes("below the LP bound (%)", "greedy gap (% of exact)", 0.4)
    axes["yaxis"]["rangemode"] = "tozero"
    axes["yaxis2"]["rangemode"] = "tozero"
    for name in ("xaxis", "xaxis2"):
        axes[name]["range"] = [-0.01, 1.01]
    layout = _layout(
        520,
        title,
        top=40,
        legend=_legend(y=1.03),
        hovermode="x unified",
        bargap=0.15,
        shapes=shapes,
        **axes,
    )
    return go.Figure({"data": data, "layout": layout})


def plot_distribution_compare(
    solutions: Sequence[Solution],
    *,
    title: str | None = "Bit-width distribution by budget",
) -> go.Figure:
    """Stacked bars, one per solution: layers per width (left) and BOPs share (right)."""
    if not solutions:
        raise ValueError("nothing to compare")
    widths = solutions[0].problem.widths
    colors = width_colors(widths)
    labels = [f"m = {s.multiplier:.2f}" for s in solutions]
    tables = [s.distribution() for s in solutions]
    data: list[dict[str, Any]] = []
    for j, width in enumerate(widths):
        counts = [t[j][1] for t in tables]
        shares = [t[j][2] * 100 for t in tables]
        common = {
            "type": "bar",
            "name": width_label(width),
            "legendgroup": str(width),
            "x": labels,
            "marker": {"color": colors[width]},
            "textposition": "inside",
            "insidetextanchor": "middle",
        }
        data.append(
            common
            | {
                "y": counts,
                "text": [str(c) if c else "" for c in counts],
                "hovertemplate": "%{x}<br>" + width_label(width) + ": %{y} layers<extra></extra>",
            }
        )
        data.append(
            common
            | {
                "y": shares,
                "text": [f"{v:.0f}%" if v >= 4 else "" for v in shares],
                "showlegend": False,
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": "%{x}<br>"
                + width_label(width)
                + ": %{y:.1f} % of the BOPs<extra></extra>",
            }
        )
    layout = _layout(
        400,
        title,
        top=84,
        barmode="stack",
        bargap=0.35,
        legend=_legend(y=1.14),
        xaxis=_axis(domain=[0, 0.45], type="category", anchor="y"),
        yaxis=_axis(title=_title("layers"), anchor="x"),
        xaxis2=_axis(domain=[0.55, 1], type="category", anchor="y2"),
        yaxis2=_axis(title=_title("% of BOPs"), range=[0, 100], anchor="x2"),
        annotations=[
            _subplot_title("Layers per width", 0.225),
            _subplot_title("Share of the BOPs", 0.775),
        ],
    )
    return go.Figure({"data": data, "layout": layout})
