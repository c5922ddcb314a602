"""Plotly figures of Phase 4 results: measured quality against the predicted objective.

Pure functions of an :class:`~mpq_core.validation.Agreement` (no Streamlit), in the style of
:mod:`mpq_core.charts`: one colour per solver, the current budget as a dotted line or a star.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from .charts import (
    CURRENT_COLOR,
    SOLVER_COLORS,
    _axis,
    _inside_legend,
    _layout,
    _legend,
    _none_for_nan,
    _stacked_axes,
    _title,
    _vline,
)
from .validation import Agreement

_SYMBOLS = {"greedy": "circle", "exact": "diamond"}
_DASHES = {"greedy": "solid", "exact": "dash"}


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
    data: list[dict[str, Any]] = []
    for solver in _solvers(found):
        rows = found.table[found.table["solver"] == solver].sort_values("budget")
        color = SOLVER_COLORS.get(solver, "#6c757d")
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
                "y": _none_for_nan(rows["value"].tolist()),
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
                "y": _none_for_nan(rows["predicted_objective"].tolist()),
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": "m = %{x:.2f}<br>objective %{y:.6g}<extra>" + solver + "</extra>",
                **style,
                "line": {**style["line"], "width": 1.2},
                "marker": {**style["marker"], "color": "white", "line": {"color": color}},
            }
        )
    shapes = [] if multiplier is None else [_vline(multiplier, "current budget")]
    axes = _stacked_axes(f"measured {found.metric}{_direction(found)}", "predicted objective", 0.42)
    for name in ("xaxis", "xaxis2"):
        axes[name]["range"] = [-0.01, 1.01]
    layout = _layout(
        540,
        title or f"Measured {found.metric} and predicted objective by budget",
        top=64,  # the legend sits between the title and the plot
        legend=_legend(y=1.03),
        hovermode="x unified",
        shapes=shapes,
        **axes,
    )
    return go.Figure({"data": data, "layout": layout})


def plot_validation_scatter(
    found: Agreement, *, multiplier: float | None = None, title: str | None = None
) -> go.Figure:
    """Measured metric against predicted objective, one point per (budget, solver); the title
    gives Spearman's rank correlation, a star marks the rows at the current budget."""
    data: list[dict[str, Any]] = []
    for solver in _solvers(found):
        rows = found.table[found.table["solver"] == solver]
        color = SOLVER_COLORS.get(solver, "#6c757d")
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
                "marker": {"color": CURRENT_COLOR, "size": 15, "symbol": "star"},
                "hovertemplate": "current budget<br>predicted %{x:.6g}<br>"
                f"{found.metric} %{{y:.6g}}<extra></extra>",
            }
        )
    rho = "n/a" if np.isnan(found.rho) else f"{found.rho:+.3f}"
    layout = _layout(
        460,
        title or f"Measured {found.metric} against predicted objective: Spearman ρ = {rho}",
        top=24,
        legend=_inside_legend(x=0.98, y=0.03, xanchor="right", yanchor="bottom"),
        xaxis=_axis(title=_title("predicted objective (sum of one-layer gains)")),
        yaxis=_axis(title=_title(f"measured {found.metric}{_direction(found)}")),
    )
    return go.Figure({"data": data, "layout": layout})


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
