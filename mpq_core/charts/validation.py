"""Plotly figures of Phase 4 results: measured quality against the predicted objective.

Pure functions of an :class:`~mpq_core.report.agreement.Agreement` (no Streamlit), drawn like the
other figures (``colors``, ``layout``): one colour per solver, the current budget as a dotted
line or a star, the print size and export name in the layout. The x of a sweep is its budget,
named by what it is: the BOPs multiplier (``m = 0.50``) or a limit's number (``bpw ≤ 4.25``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..model.constraints import RESOURCE_UNITS, Limit
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
_UNITS = {**RESOURCE_UNITS, "bpw": "bits per weight", "mean_wbits": "mean bits per weight"}
_FORMS = {"x": "× all-top-width", "r": "cheapest 0 … dearest 1"}


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


def budget_noun(limit: Limit) -> str:
    """What a sweep's budget is called: ``budget``, ``bpw limit``, ``bpw@attn floor``."""
    if limit.is_budget:
        return "budget"
    return plain(f"{limit.target} {'floor' if limit.lower else 'limit'}")


def setting_text(limit: Limit, budget: float) -> str:
    """The sweep's limit at ``budget``, in words: ``m = 0.50``, ``bpw ≤ 4.25``."""
    return _setting(limit, format(budget, ".2f" if limit.is_budget else ".4g"))


def _setting(limit: Limit, number: str) -> str:
    if limit.is_budget:
        return f"m = {number}"
    sign = "≥" if limit.lower else "≤"
    return f"{plain(limit.target)} {sign} {number}{limit.form.suffix}"


def _hover(limit: Limit, ref: str) -> str:
    """The setting of a point in a hover template, its number from ``ref`` (x, customdata)."""
    return _setting(limit, f"%{{{ref}:{'.2f' if limit.is_budget else '.4~g'}}}")


def _x_axis(limit: Limit) -> tuple[str, dict[str, Any]]:
    """The budget axis's title, and its range for the multiplier (0 to 1; else automatic)."""
    if limit.is_budget:
        return "budget multiplier (budget / all-top-width cost)", {"range": [-0.01, 1.01]}
    unit = _FORMS.get(limit.form.suffix) or _UNITS.get(limit.resource, "")
    noun = budget_noun(limit)
    return (f"{noun} ({unit})" if unit else noun), {}


def plot_validation_budgets(
    found: Agreement, *, multiplier: float | None = None, title: str | None = None
) -> go.Figure:
    """Measured metric (top) and predicted objective (bottom) over the sweep's budget (the
    multiplier, or the limit's number); ``multiplier``: the budget in use, a dotted line."""
    data = _budget_traces(found)
    shapes = [] if multiplier is None else current_line(multiplier, ("x", "x2"))
    metric = plain(found.metric)
    x_title, x_range = _x_axis(found.limit)
    layout = figure_layout(
        file="validation_budgets",
        width=WIDE,
        height=640,
        title=title or f"Measured {metric} and predicted objective by {budget_noun(found.limit)}",
        subtitle=_subtitle(found),
        rows=2,
        top=30,
        bottom=44,
        hovermode="x unified",
        shapes=shapes,
        xaxis=axis(anchor="y", matches="x2", showticklabels=False, **x_range),
        yaxis=axis(title=axis_title(f"{metric}{_direction(found)}"), domain=[_SPLIT + 0.12, 1]),
        xaxis2=axis(anchor="y2", title=axis_title(x_title), **x_range),
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
    setting = _hover(found.limit, "x")
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
                "hovertemplate": f"{setting}<br>{found.metric} %{{y:.6g}}<extra>{solver}</extra>",
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
                "hovertemplate": f"{setting}<br>objective %{{y:.6g}}<extra>{solver}</extra>",
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
    gives Spearman's rank correlation, a star marks the rows at the current budget
    (``multiplier``: the budget in use, the multiplier or the limit's number)."""
    data: list[dict[str, Any]] = []
    setting = _hover(found.limit, "customdata")
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
                "hovertemplate": f"{setting}<br>predicted %{{x:.6g}}<br>"
                f"{found.metric} %{{y:.6g}}<extra>{solver}</extra>",
            }
        )
    current = _current_rows(found, multiplier)
    if current is not None:
        data.append(
            {
                "type": "scatter",
                "name": setting_text(found.limit, current["budget"].iloc[0]),
                "x": current["predicted_objective"].tolist(),
                "y": current["value"].tolist(),
                "mode": "markers",
                "marker": {"color": CURRENT, "size": 15, "symbol": "star"},
                "hovertemplate": f"current {budget_noun(found.limit)}<br>predicted %{{x:.6g}}<br>"
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
    return f"{budgets} measured {budget_noun(found.limit)}s · {plain(solvers)}"


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
