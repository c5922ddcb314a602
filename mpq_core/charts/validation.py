"""Plotly figures of Phase 4 results: measured quality against the predicted objective.

Pure functions of an :class:`~mpq_core.report.agreement.Agreement` (no Streamlit), drawn like the
other figures (``colors``, ``layout``): one colour per solver, the current budget as a dotted
line or a star, the print size and export name in the layout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..report.agreement import Agreement
from .colors import CURRENT, OTHER_SOLVER, SOLVER_COLORS, SOLVER_DASH, SOLVER_SYMBOL
from .layout import (
    HALF,
    WIDE,
    axis,
    axis_title,
    current_line,
    figure_layout,
    none_for_nan,
    panel_title,
    plain,
)

_SYMBOLS = SOLVER_SYMBOL
_DASHES = SOLVER_DASH
_SPLIT = 0.42  # the lower panel's share of the height


def _solvers(found: Agreement) -> list[str]:
    """Drawing order: the exact solver first, so the greedy's smaller markers stay visible
    inside its diamonds where both chose the same allocation."""
    present = list(dict.fromkeys(found.table["solver"]))
    return [s for s in present if s not in ("greedy", "exact")] + [
        s for s in ("exact", "greedy") if s in present
    ]


_SIZES = {"greedy": 6, "exact": 11}


def _direction(found: Agreement) -> str:
    if found.higher_is_better is None:
        return ""
    return " (higher is better)" if found.higher_is_better else " (lower is better)"


def plot_validation_budgets(
    found: Agreement, *, multiplier: float | None = None, title: str | None = None
) -> go.Figure:
    """Measured metric (top) and predicted objective (bottom) over the budget multiplier."""
    data = _budget_traces(found)
    shapes = [] if multiplier is None else current_line(multiplier, ("x", "x2"))
    metric = plain(found.metric)
    layout = figure_layout(
        file="validation_budgets",
        width=WIDE,
        height=640,
        title=title or f"Measured {metric} and predicted objective by budget",
        subtitle=_subtitle(found),
        rows=2,
        top=30,
        bottom=44,
        hovermode="x unified",
        shapes=shapes,
        xaxis=axis(anchor="y", matches="x2", showticklabels=False, range=[-0.01, 1.01]),
        yaxis=axis(title=axis_title(f"{metric}{_direction(found)}"), domain=[_SPLIT + 0.12, 1]),
        xaxis2=axis(
            anchor="y2",
            range=[-0.01, 1.01],
            title=axis_title("budget multiplier (budget / all-top-width cost)"),
        ),
        yaxis2=axis(title=axis_title("objective"), domain=[0, _SPLIT]),
        annotations=[  # the panels' titles say what the short axis titles stand for
            panel_title(f"Measured {metric}", 0.5, 1.0),
            panel_title("Predicted objective (sum of one-layer gains)", 0.5, _SPLIT),
        ],
    )
    return go.Figure({"data": data, "layout": layout})


def _budget_traces(found: Agreement) -> list[dict[str, Any]]:
    """Per solver: the measured metric (top) and the predicted objective (bottom)."""
    data: list[dict[str, Any]] = []
    for solver in _solvers(found):
        rows = found.table[found.table["solver"] == solver].sort_values("budget")
        color = SOLVER_COLORS.get(solver, OTHER_SOLVER)
        style = {
            "mode": "lines+markers",
            "legendgroup": solver,
            "line": {"color": color, "dash": _DASHES.get(solver, "dot"), "width": 1.6},
            "marker": {
                "color": color,
                "size": _SIZES.get(solver, 8),
                "symbol": _SYMBOLS.get(solver, "square"),
            },
        }
        data.append(
            {
                "type": "scatter",
                "name": f"measured ({solver})",
                "x": rows["budget"].tolist(),
                "y": none_for_nan(rows["value"].tolist()),
                "hovertemplate": f"m = %{{x:.2f}}<br>{found.metric} %{{y:.6g}}<extra>{solver}"
                "</extra>",
                **style,
            }
        )
        data.append(
            {
                "type": "scatter",
                "name": f"predicted ({solver})",
                "x": rows["budget"].tolist(),
                "y": none_for_nan(rows["predicted_objective"].tolist()),
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": "m = %{x:.2f}<br>objective %{y:.6g}<extra>" + solver + "</extra>",
                **style,
                "line": {**style["line"], "width": 1.2},
                "marker": {**style["marker"], "color": "white", "line": {"color": color}},
            }
        )
    return data


def plot_validation_scatter(
    found: Agreement, *, multiplier: float | None = None, title: str | None = None
) -> go.Figure:
    """Measured metric against predicted objective, one point per (budget, solver); the title
    gives Spearman's rank correlation, a star marks the rows at the current budget."""
    data: list[dict[str, Any]] = []
    for solver in _solvers(found):
        rows = found.table[found.table["solver"] == solver]
        color = SOLVER_COLORS.get(solver, OTHER_SOLVER)
        data.append(
            {
                "type": "scatter",
                "name": solver,
                "x": rows["predicted_objective"].tolist(),
                "y": rows["value"].tolist(),
                "customdata": rows["budget"].tolist(),
                "mode": "markers",
                "marker": {
                    "color": "white",
                    "size": _SIZES.get(solver, 8) + 2,
                    "symbol": _SYMBOLS.get(solver, "square"),
                    "line": {"color": color, "width": 1.5},
                },
                "hovertemplate": "m = %{customdata:.2f}<br>predicted %{x:.6g}<br>"
                f"{found.metric} %{{y:.6g}}<extra>{solver}</extra>",
            }
        )
    current = _current_rows(found, multiplier)
    if current is not None:
        data.append(
            {
                "type": "scatter",
                "name": f"m = {current['budget'].iloc[0]:.2f}",
                "x": current["predicted_objective"].tolist(),
                "y": current["value"].tolist(),
                "mode": "markers",
                "marker": {"color": CURRENT, "size": 15, "symbol": "star"},
                "hovertemplate": "current budget<br>predicted %{x:.6g}<br>"
                f"{found.metric} %{{y:.6g}}<extra></extra>",
            }
        )
    rho = "n/a" if np.isnan(found.rho) else f"{found.rho:+.3f}"
    metric = plain(found.metric)
    layout = figure_layout(
        file="validation_scatter",
        width=HALF,
        height=480,
        title=title or f"Measured {metric} against predicted objective: Spearman ρ = {rho}",
        subtitle=_subtitle(found),
        bottom=44,
        xaxis=axis(title=axis_title("predicted objective (sum of one-layer gains)")),
        yaxis=axis(title=axis_title(f"measured {metric}{_direction(found)}")),
    )
    return go.Figure({"data": data, "layout": layout})


def _subtitle(found: Agreement) -> str:
    budgets = found.table["budget"].nunique() if not found.table.empty else 0
    solvers = ", ".join(dict.fromkeys(found.table["solver"])) if budgets else "no rows"
    return f"{budgets} measured budgets · {plain(solvers)}"


def _current_rows(found: Agreement, multiplier: float | None):
    """The rows at the measured budget nearest to ``multiplier`` (within half a step)."""
    if multiplier is None or found.table.empty:
        return None
    budgets = np.unique(found.table["budget"].to_numpy())
    nearest = budgets[np.argmin(np.abs(budgets - multiplier))]
    step = np.min(np.diff(budgets)) if len(budgets) > 1 else 1.0
    if abs(nearest - multiplier) > step / 2 + 1e-9:
        return None
    return found.table[found.table["budget"] == nearest]
