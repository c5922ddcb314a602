"""What every figure shares: fonts, axes, a title with a context subtitle, legends that never
cover the title, the print size, the export file name and the infeasible-budget marking.

Every figure carries its print size in ``layout.width``/``layout.height`` (the app stretches
it to the page; the camera button, the charts ZIP and ``--report`` all export at this size) and
its export file stem in ``layout.meta["file"]`` (for example ``heatmap_m0.25``).

Text that came from a file (model and layer names) goes through :func:`plain`: plotly reads
``<b>``, ``<a href>`` ... in titles and hover labels as markup, and shows entities as text.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ..solution import Solution
from .colors import (
    AXIS_LINE,
    CURRENT,
    GRID,
    INFEASIBLE,
    INFEASIBLE_FILL,
    MUTED,
    TEXT,
)

FONT = {
    "family": '"Source Sans", "Source Sans Pro", Inter, "Segoe UI", Helvetica, Arial, sans-serif',
    "size": 13,
    "color": TEXT,
}
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
WIDE = 1100  # print width of a page-wide figure (px; PNGs are exported at twice this)
HALF = 720  # print width of a figure that sits in half a page
_TITLE_TOP = 12  # px above the title
_TITLE_PX = 24  # the title line
_SUBTITLE_PX = 22  # the context line under it
_LEGEND_PX = 26  # one row of legend under the subtitle
_LEGEND_ROW_PX = 480  # legends are laid out to fit in one row of a chart this wide (the app's
# narrowest chart); a longer one gets a second row so that it never runs into the plot
_LEGEND_CHAR_PX = 7.0  # average width of a legend character at 12 px
_LEGEND_ITEM_PX = 46  # symbol and spacing around each legend entry
_LABELLED_STRIP = 0.03  # a narrower infeasible strip is shaded without its label
_MODEL_CHARS = 60  # a longer model name is cut with an ellipsis


def plain(text: object) -> str:
    """Text from outside (a file, a link) as plain text inside a plotly label."""
    return html.escape(str(text), quote=False)


def multiplier_text(m: float) -> str:
    """A budget multiplier with two decimals, or three when the third is not 0: ``0.25``,
    ``0.337``."""
    text = f"{m:.3f}"
    return text[:-1] if text.endswith("0") else text


def model_name(solution: Solution) -> str:
    """The flops file's ``model`` field, else its file name without the extension."""
    layers = solution.problem.inputs.layers
    name = " ".join(str(layers.model or "").split()) or Path(str(layers.source)).stem
    return name if len(name) <= _MODEL_CHARS else name[: _MODEL_CHARS - 1] + "…"


def context_line(
    solution: Solution, multipliers: Sequence[float] | None = None, *, solver: str | None = None
) -> str:
    """The subtitle of an exported figure, plain text (already escaped for plotly):
    ``SD 1.4 UNet · m = 0.25 · greedy · W4/8/16``; pins and an infeasible budget are named.
    ``multipliers`` replaces the solution's budget (several budgets), ``solver`` its solver."""
    problem = solution.problem
    ms = [solution.multiplier] if multipliers is None else list(multipliers)
    parts = [
        model_name(solution),
        "m = " + ", ".join(multiplier_text(m) for m in ms),
        solver or solution.solver,
        "W" + "/".join(str(w) for w in problem.widths),
    ]
    if problem.abit_rule != "plus4":
        parts.append(f"A {problem.abit_rule}")
    if problem.pins:
        parts.append(f"{len(problem.pins)} pinned")
    if multipliers is None and not solution.feasible:
        parts.append("infeasible")
    return plain(" · ".join(parts))


def file_stem(name: str, multipliers: Sequence[float]) -> str:
    """``heatmap_m0.25``; several budgets are joined with '-': ``distribution_m0.3-0.5``."""
    return f"{name}_m" + "-".join(multiplier_text(m) for m in multipliers)


def none_for_nan(values: Iterable[Any]) -> list[Any]:
    """A list for a trace: NaN becomes None (a gap in a line, ``null`` in JSON)."""
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in values]


def axis(**extra: Any) -> dict[str, Any]:
    return {
        "gridcolor": GRID,
        "zeroline": False,
        "linecolor": AXIS_LINE,
        "ticks": "outside",
        "tickcolor": AXIS_LINE,
        "automargin": True,
        **extra,
    }


def axis_title(text: str) -> dict[str, Any]:
    return {"text": text, "font": {"size": 12}}


def legend_rows(names: Sequence[str], title: str = "") -> int:
    """Legend rows to reserve: 1, or 2 when the entries would not fit a narrow chart."""
    width = _LEGEND_CHAR_PX * (len(title) + sum(len(n) for n in names))
    width += _LEGEND_ITEM_PX * len(names)
    return 1 if width <= _LEGEND_ROW_PX else 2


def header_px(*, legend: bool, rows: int = 1) -> int:
    """Height of the title, the subtitle and (optionally) the legend rows above the plot."""
    return _TITLE_TOP + _TITLE_PX + _SUBTITLE_PX + (_LEGEND_PX * rows if legend else 0)


def figure_layout(
    *,
    file: str,
    width: int,
    height: int,
    title: str | None,
    subtitle: str,
    legend: bool = True,
    rows: int = 1,
    top: int = 0,
    bottom: int = 10,
    **extra: Any,
) -> dict[str, Any]:
    """Title and subtitle at the top left, the legend in one row under them (container
    coordinates, so it can neither cover the title nor be cut off), then ``top`` px (for
    panel titles) and the plot."""
    header = header_px(legend=legend, rows=rows)
    title_spec: dict[str, Any] = {
        "text": title or "",
        "subtitle": {"text": subtitle, "font": {"size": 12, "color": MUTED}},
        "x": 0.0,
        "xanchor": "left",
        "xref": "container",
        "y": 1 - _TITLE_TOP / height,
        "yanchor": "top",
        "yref": "container",
        "pad": {"l": 12},
        "font": {"size": 16},
    }
    return {
        "width": width,
        "height": height,
        "meta": {"file": file},
        "title": title_spec,
        "font": FONT,
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "margin": {"l": 12, "r": 18, "t": header + top, "b": bottom},
        "hoverlabel": {"font": {"size": 12}, "align": "left"},
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "xref": "container",
            "yref": "container",
            "x": 8 / width,
            "xanchor": "left",
            "y": 1 - (_TITLE_TOP + _TITLE_PX + _SUBTITLE_PX) / height,
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0)",
            "font": {"size": 12},
            "indentation": 8,
        },
        **extra,
    }


def panel_title(text: str, x: float, y: float = 1.0) -> dict[str, Any]:
    """A bold title above one panel of a figure (paper coordinates)."""
    return {
        "text": f"<b>{text}</b>",
        "x": x,
        "y": y,
        "xref": "paper",
        "yref": "paper",
        "xanchor": "center",
        "yanchor": "bottom",
        "yshift": 4,
        "showarrow": False,
        "font": {"size": 13},
    }


def legend_swatch(name: str, color: str, **marker: Any) -> dict[str, Any]:
    """A legend entry with no data (for colours drawn by a heatmap or a shaded region)."""
    return {
        "type": "scatter",
        "name": name,
        "x": [None],
        "y": [None],
        "mode": "markers",
        "marker": {"symbol": "square", "size": 13, "color": color, **marker},
        "hoverinfo": "skip",
    }


def infeasible_region(
    min_multiplier: float, xaxes: Sequence[str] = ("x",)
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shapes shading 0..``min_multiplier`` on each multiplier axis, and the label
    "infeasible" written up the strip of the first one (an annotation named "infeasible")."""
    if min_multiplier <= 0:
        return [], []
    edge = min(min_multiplier, 1.0)
    shapes = [
        {
            "type": "rect",
            "name": "infeasible",
            "xref": x,
            "yref": f"{x.replace('x', 'y')} domain",
            "x0": 0,
            "x1": edge,
            "y0": 0,
            "y1": 1,
            "fillcolor": INFEASIBLE_FILL,
            "line": {"width": 0},
            "layer": "below",
        }
        for x in xaxes
    ]
    label = {
        "name": "infeasible",
        "text": f"infeasible (m < {min_multiplier:.3f})",
        "textangle": -90,
        "x": edge / 2,
        "y": 0.5,
        "xref": xaxes[0],
        "yref": f"{xaxes[0].replace('x', 'y')} domain",
        "showarrow": False,
        "font": {"size": 11, "color": INFEASIBLE},
    }
    return shapes, [label] if edge >= _LABELLED_STRIP else []


def infeasible_notice(solution: Solution, **position: Any) -> dict[str, Any]:
    """The annotation an infeasible budget's figure shows instead of an allocation."""
    problem = solution.problem
    text = (
        f"<b>Infeasible budget (m = {multiplier_text(solution.multiplier)})</b><br>"
        "no allocation fits: every layer at its lowest width already costs more.<br>"
        f"The smallest feasible multiplier is {problem.min_multiplier():.3f}."
    )
    return {
        "name": "infeasible",
        "text": text,
        "x": 0.5,
        "y": 0.5,
        "xref": "paper",
        "yref": "paper",
        "showarrow": False,
        "align": "center",
        "bgcolor": "white",
        "bordercolor": INFEASIBLE,
        "borderwidth": 1.5,
        "borderpad": 10,
        "font": {"size": 14, "color": INFEASIBLE},
        **position,
    }


def current_line(m: float, xaxes: Sequence[str] = ("x",)) -> list[dict[str, Any]]:
    """A dotted vertical line at the current budget on each multiplier axis."""
    return [
        {
            "type": "line",
            "name": "current budget",
            "xref": x,
            "yref": f"{x.replace('x', 'y')} domain",
            "x0": m,
            "x1": m,
            "y0": 0,
            "y1": 1,
            "line": {"color": CURRENT, "width": 1.5, "dash": "dot"},
        }
        for x in xaxes
    ]


def current_label(solution: Solution, xaxis: str = "x") -> dict[str, Any]:
    """``m = 0.50`` at the top of the current-budget line, inside the plot (``· infeasible``
    when it is)."""
    text = f"m = {multiplier_text(solution.multiplier)}"
    if not solution.feasible:
        text += " · infeasible"
    return {
        "name": "current budget",
        "text": text,
        "x": solution.multiplier,
        "y": 1.0,
        "xref": xaxis,
        "yref": f"{xaxis.replace('x', 'y')} domain",
        "yanchor": "top",
        "xanchor": "left" if solution.multiplier < 0.75 else "right",
        "xshift": 4 if solution.multiplier < 0.75 else -4,
        "bgcolor": "rgba(255,255,255,0.85)",
        "showarrow": False,
        "font": {"size": 11, "color": INFEASIBLE if not solution.feasible else CURRENT},
    }
