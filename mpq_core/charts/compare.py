"""Several budgets side by side: the width distribution of each, stacked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from ..report.display import percent
from ..solving.solution import Solution
from .allocation import titled
from .colors import INFEASIBLE, option_colors
from .layout import (
    TEXT_PX,
    WIDE,
    axis,
    axis_title,
    context_line,
    figure_layout,
    file_stem,
    multiplier_text,
    panel_title,
    plain,
)

COMPARE_HEIGHT = 480
_SHARE_LABEL_MIN = 4.0  # % of the BOPs below which a stacked segment gets no printed label


def _share_label(share: float | None) -> str:
    return percent(share, 0) if share and share * 100 >= _SHARE_LABEL_MIN else ""


def budget_label(solution: Solution) -> str:
    """``m = 0.30``, or ``m = 0.05 (infeasible)``."""
    label = f"m = {multiplier_text(solution.multiplier)}"
    return label if solution.feasible else f"{label} (infeasible)"


def plot_distribution_compare(
    solutions: Sequence[Solution], *, title: str | None = "Bit-width distribution by budget"
) -> go.Figure:
    """Stacked bars, one per solution: layers per width (left) and BOPs share (right).

    An infeasible budget keeps its place with an empty bar labelled "infeasible".
    """
    if not solutions:
        raise ValueError("nothing to compare")
    labels = [budget_label(s) for s in solutions]
    ok = [s.feasible for s in solutions]
    data = _width_bars(solutions, labels)
    notes = [_infeasible_note(label, xref) for label, feasible in zip(labels, ok, strict=True)
             if not feasible for xref in ("x", "x2")]  # fmt: skip
    first = solutions[0]
    layout = figure_layout(
        file=file_stem("distribution", [s.multiplier for s in solutions]),
        width=WIDE,
        height=COMPARE_HEIGHT,
        title=titled(first.problem, title),
        subtitle=context_line(first, [s.multiplier for s in solutions]),
        top=40,  # the panel titles clear the legend row at any width
        barmode="stack",
        bargap=0.35,
        uniformtext={"mode": "hide", "minsize": TEXT_PX},  # never shrunk below the text size
        xaxis=axis(domain=[0, 0.45], type="category", anchor="y"),
        yaxis=axis(title=axis_title("layers"), anchor="x"),
        xaxis2=axis(domain=[0.55, 1], type="category", anchor="y2"),
        yaxis2=axis(
            title=axis_title("share of the BOPs"), range=[0, 100], ticksuffix="%", anchor="x2"
        ),
        annotations=[
            panel_title(titled(first.problem, "Layers per width"), 0.225),
            panel_title("Share of the BOPs", 0.775),
            *notes,
        ],
    )
    layout["legend"]["traceorder"] = "normal"
    return go.Figure({"data": data, "layout": layout})


def _infeasible_note(label: str, xref: str) -> dict[str, Any]:
    """ "infeasible" written where an infeasible budget's bar would stand."""
    return {
        "name": "infeasible",
        "text": "infeasible",
        "x": label,
        "y": 0,
        "xref": xref,
        "yref": f"{xref.replace('x', 'y')} domain",
        "yanchor": "bottom",
        "yshift": 6,
        "showarrow": False,
        "font": {"color": INFEASIBLE, "size": TEXT_PX},
    }


def _width_bars(solutions: Sequence[Solution], labels: list[str]) -> list[dict[str, Any]]:
    """Per width, one stacked bar trace of layer counts (left) and one of BOPs shares
    (right); an infeasible solution's bars are empty."""
    problem = solutions[0].problem
    colors, names = option_colors(problem), problem.option_labels
    tables = [s.width_shares() if s.feasible else None for s in solutions]
    data: list[dict[str, Any]] = []
    for j, width in enumerate(problem.widths):
        counts = [t[j].layers if t else None for t in tables]
        shares = [t[j].bops_share if t else None for t in tables]
        name = plain(names[j])
        common = {
            "type": "bar",
            "name": name,
            "legendgroup": str(width) if problem.formats is None else name,
            "x": labels,
            "marker": {"color": colors[j]},
            "textposition": "inside",
            "insidetextanchor": "middle",
        }
        data.append(
            common
            | {
                "y": counts,
                "text": [f"{c:,}" if c else "" for c in counts],
                "hovertemplate": "%{x}<br>" + name + ": %{y:,} layers<extra></extra>",
            }
        )
        data.append(
            common
            | {
                "y": [None if s is None else s * 100 for s in shares],
                "text": [_share_label(s) for s in shares],
                "customdata": [percent(s, 2) if s is not None else "" for s in shares],
                "showlegend": False,
                "xaxis": "x2",
                "yaxis": "y2",
                "hovertemplate": "%{x}<br>" + name + ": %{customdata} of the BOPs<extra></extra>",
            }
        )
    return data
