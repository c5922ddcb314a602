"""What every figure shares: fonts, axes, a title with a context subtitle, legends that never
cover the title, the print size, the export file name and the infeasible-budget marking.

Every figure carries its print size in ``layout.width``/``layout.height`` (the app stretches
it to the page; the camera button, the charts ZIP and ``--report`` all export at this size) and
its export file stem in ``layout.meta["file"]`` (for example ``heatmap_m0.25``).

Text that came from a file (model and layer names) goes through :func:`plain`: plotly reads
``<b>``, ``<a href>`` ... in titles and hover labels as markup, and shows entities as text.

Print size and text size go together: a page-wide figure (:data:`WIDE` px) is meant for a
6.5 in text width, a half-page one (:data:`HALF` px) for half of it, 3.25 in (two side by
side, or one column of a two-column paper). At those widths no text is smaller than
:data:`MIN_PRINT_PT` (7 pt): :data:`TEXT_PX` is the smallest font of every figure
(:func:`print_pt` converts). Titles and subtitles wrap onto more lines rather than run off
the figure's edge.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import shorten
from ..solving.solution import Solution, Threshold, feasibility_threshold
from .colors import (
    AXIS_LINE,
    CURRENT,
    GRID,
    INFEASIBLE,
    INFEASIBLE_FILL,
    MUTED,
    TEXT,
)

TEXT_PX = 17  # the smallest text of every figure: >= 7 pt at its print width
TITLE_PX = 21
FONT = {
    "family": '"Source Sans", "Source Sans Pro", Inter, "Segoe UI", Helvetica, Arial, sans-serif',
    "size": TEXT_PX,
    "color": TEXT,
}
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
WIDE = 1100  # print width of a page-wide figure (px; PNGs are exported at twice this)
HALF = 560  # print width of a figure that sits in half a page
PRINT_WIDTH_PT = {WIDE: 6.5 * 72, HALF: 3.25 * 72}  # the width each is meant to be printed at
MIN_PRINT_PT = 7.0
CHAR_EM = 0.5  # average width of a character of text, in em (Helvetica/Arial metrics)
_TITLE_TOP = 12  # px above the title
_TITLE_LINE_PX = 27  # one line of the title (plotly's line spacing: 1.3 em)
_SUBTITLE_FIRST_PX = 38  # the first line of the context: plotly sets it 1.6 em under the title
_SUBTITLE_LINE_PX = 22  # each further line of the context
_LEGEND_PX = 32  # one row of legend under the subtitle
_LEGEND_ROW_PX = 480  # legends are laid out to fit in one row of a chart this wide (the app's
# narrowest chart); a longer one gets a second row so that it never runs into the plot
_LEGEND_ITEM_PX = 52  # symbol and spacing around each legend entry
_TEXT_MARGIN = 30  # px of a line of the header that text may not use (padding, margins)
_X_SPAN = 1.012  # the multiplier axes run 0..1.012 (room for a marker at 1)
Y_AXIS_PX = 110  # px of a figure's width its y axis, margins and legend take from the plot
_STRIP_LABEL_PX = 46  # a narrower infeasible strip is shaded without its two-line label
_NOTICE_CHARS = 300  # of a solver's message in a figure's notice
_MODEL_CHARS = 120  # a longer model name is cut with an ellipsis (a subtitle wraps)


def print_pt(px: float, width: int) -> float:
    """A size in px of a figure ``width`` px wide, in points once printed at its intended
    width (:data:`PRINT_WIDTH_PT`)."""
    return px * PRINT_WIDTH_PT[width] / width


def text_px(text: str, size: float = TEXT_PX) -> float:
    """The estimated width of one line of plotly text (tags left out, entities as one)."""
    visible = html.unescape(re.sub(r"<[^>]*>", "", text))
    return len(visible) * size * CHAR_EM


def wrap(text: str, width: float, size: float = TEXT_PX, sep: str = " · ") -> list[str]:
    """``text`` as lines that fit ``width`` px: broken at ``sep`` first, and a part that is
    still too long at its spaces (a word longer than a line stays whole)."""
    lines: list[str] = []
    for part in _fit(text.split(sep), width, size, sep):
        lines += _fit(part.split(" "), width, size, " ") if text_px(part, size) > width else [part]
    return lines or [""]


def _fit(pieces: Sequence[str], width: float, size: float, sep: str) -> list[str]:
    lines: list[str] = []
    for piece in pieces:
        joined = f"{lines[-1]}{sep}{piece}" if lines else piece
        if lines and text_px(joined, size) <= width:
            lines[-1] = joined
        else:
            lines.append(piece)
    return lines


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


def options_text(problem) -> str:
    """``W4/8/16`` for a ladder; the formats' names for formats (``int4_g128/nvfp4/bf16``)."""
    if problem.formats is not None:
        return plain("/".join(fmt.name for fmt in problem.formats))
    return "W" + "/".join(str(w) for w in problem.widths)


def _limits_text(solution: Solution, ms: Sequence[float]) -> str:
    """``m = 0.5`` for BOPs budgets; the limits themselves when none is on BOPs
    (``bpw <= 5``, ``t4_latency <= 0.5r``)."""
    if all(math.isfinite(m) for m in ms):
        return "m = " + ", ".join(multiplier_text(m) for m in ms)
    text = ", ".join(bound.limit.label() for bound in solution.bounds)
    return plain(text.replace("<=", "≤").replace(">=", "≥"))  # no entity shown as text


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
        _limits_text(solution, ms),
        solver or solution.solver,
        options_text(problem),
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
    return {"text": text, "font": {"size": TEXT_PX}}


def legend_rows(names: Sequence[str], title: str = "") -> int:
    """Legend rows to reserve: 1, or 2 when the entries would not fit a narrow chart."""
    width = text_px(title + "".join(names)) + _LEGEND_ITEM_PX * len(names)
    return 1 if width <= _LEGEND_ROW_PX else 2


def _header_lines(title: str | None, subtitle: str, width: int) -> tuple[list[str], list[str]]:
    room = width - _TEXT_MARGIN
    return _title_lines(title or "", room), wrap(subtitle, room)


def _title_lines(title: str, room: float) -> list[str]:
    """A title that does not fit breaks after its colon first, then at spaces."""
    if text_px(title, TITLE_PX) <= room or ": " not in title:
        return wrap(title, room, TITLE_PX, " ")
    head, tail = title.split(": ", 1)
    return wrap(head + ":", room, TITLE_PX, " ") + wrap(tail, room, TITLE_PX, " ")


def header_px(
    *, legend: bool, rows: int = 1, title: str | None = "", subtitle: str = "", width: int = WIDE
) -> int:
    """Height of the title, the subtitle (each wrapped to ``width``) and (optionally) the
    legend rows above the plot."""
    titles, subtitles = _header_lines(title, subtitle, width)
    return (
        _TITLE_TOP
        + _TITLE_LINE_PX * len(titles)
        + _SUBTITLE_FIRST_PX
        + _SUBTITLE_LINE_PX * (len(subtitles) - 1)
        + (_LEGEND_PX * rows if legend else 0)
    )


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
    """Title and subtitle at the top left (wrapped to the width), the legend in one row under
    them (container coordinates, so it can neither cover the title nor be cut off), then
    ``top`` px (for panel titles) and the plot."""
    titles, subtitles = _header_lines(title, subtitle, width)
    above_legend = header_px(legend=False, title=title, subtitle=subtitle, width=width)
    header = above_legend + (_LEGEND_PX * rows if legend else 0)
    title_spec: dict[str, Any] = {
        "text": "<br>".join(titles),
        "subtitle": {"text": "<br>".join(subtitles), "font": {"size": TEXT_PX, "color": MUTED}},
        "x": 0.0,
        "xanchor": "left",
        "xref": "container",
        # plotly lifts the lines of a title of several lines above its anchor: lower it
        "y": 1 - (_TITLE_TOP + _TITLE_LINE_PX * (len(titles) - 1)) / height,
        "yanchor": "top",
        "yref": "container",
        "pad": {"l": 12},
        "font": {"size": TITLE_PX},
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
        "hoverlabel": {"font": {"size": 14}, "align": "left"},
        "showlegend": legend,
        "legend": {
            "orientation": "h",
            "xref": "container",
            "yref": "container",
            "x": 8 / width,
            "xanchor": "left",
            "y": 1 - above_legend / height,
            "yanchor": "top",
            "bgcolor": "rgba(255,255,255,0)",
            "font": {"size": TEXT_PX},
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
        "font": {"size": TEXT_PX},
    }


def legend_swatch(name: str, color: str, **marker: Any) -> dict[str, Any]:
    """A legend entry with no data (for colours drawn by a heatmap or a shaded region)."""
    return {
        "type": "scatter",
        "name": name,
        "x": [None],
        "y": [None],
        "mode": "markers",
        "marker": {"symbol": "square", "size": 16, "color": color, **marker},
        "hoverinfo": "skip",
    }


def infeasible_region(
    threshold: Threshold, xaxes: Sequence[str] = ("x",), *, width: int = HALF
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shapes shading every multiplier below the infeasibility threshold (see
    :func:`~mpq_core.solving.solution.feasibility_threshold`) on each multiplier axis, and the label
    "infeasible / m < 0.125" written up the strip of the first one (an annotation named
    "infeasible") when the strip is wide enough for it in a figure ``width`` px wide."""
    if threshold.multiplier <= 0:
        return [], []
    edge = min(threshold.multiplier, 1.0)
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
        "text": f"infeasible<br>m < {threshold.text}",
        "textangle": -90,
        "x": edge / 2,
        "y": 0.5,
        "xref": xaxes[0],
        "yref": f"{xaxes[0].replace('x', 'y')} domain",
        "showarrow": False,
        "font": {"size": TEXT_PX, "color": INFEASIBLE},
    }
    strip_px = edge / _X_SPAN * (width - Y_AXIS_PX)
    return shapes, [label] if strip_px >= _STRIP_LABEL_PX else []


def infeasible_notice(solution: Solution, *, width: int, **position: Any) -> dict[str, Any]:
    """The annotation an infeasible setting's figure shows instead of an allocation: the
    budget's shortfall and the threshold when the BOPs budget alone is too small, else the
    solver's message (another limit, or limits that conflict)."""
    problem = solution.problem
    if solution.budget < problem.min_cost:
        head = f"Infeasible budget (m = {multiplier_text(solution.multiplier)})"
        lines = [
            "no allocation fits: every layer at its lowest width already costs more.",
            f"The smallest feasible multiplier is {feasibility_threshold(problem).text}.",
        ]
    else:
        head = "No allocation meets the limits"
        lines = [plain(shorten(solution.message, _NOTICE_CHARS))]
    room = width - 100
    wrapped = [part for line in lines for part in wrap(line, room, sep=" ")]
    return {
        "name": "infeasible",
        "text": "<br>".join([f"<b>{head}</b>", *wrapped]),
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
        "font": {"size": TEXT_PX, "color": INFEASIBLE},
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


@dataclass(frozen=True)
class Panel:
    """Where a multiplier plot's points fall, for placing a label clear of them: the
    plot's size in px, its x range and its y range (data units of a linear axis), and the
    points drawn in it."""

    width_px: float
    height_px: float
    y_range: tuple[float, float]
    points: Sequence[tuple[float, float | None]] = ()
    x_range: tuple[float, float] = (0.0, _X_SPAN)


def current_label(
    solution: Solution, xaxis: str = "x", panel: Panel | None = None
) -> dict[str, Any]:
    """``m = 0.50`` beside the current-budget line, inside the plot (``· infeasible`` when
    it is): in the first corner of the line (its top right, top left, bottom right, bottom
    left; the left first near the right edge) where it stays inside the plot and covers no
    point of ``panel``."""
    m = solution.multiplier
    text = f"m = {multiplier_text(m)}"
    if not solution.feasible:
        text += " · infeasible"
    right, top = _free_corner(m, text, panel)
    return {
        "name": "current budget",
        "text": text,
        "x": m,
        "y": 1.0 if top else 0.0,
        "xref": xaxis,
        "yref": f"{xaxis.replace('x', 'y')} domain",
        "yanchor": "top" if top else "bottom",
        "xanchor": "left" if right else "right",
        "xshift": 4 if right else -4,
        "bgcolor": "rgba(255,255,255,0.85)",
        "showarrow": False,
        "font": {"size": TEXT_PX, "color": INFEASIBLE if not solution.feasible else CURRENT},
    }


def _free_corner(m: float, text: str, panel: Panel | None) -> tuple[bool, bool]:
    """(to the right of the line, at the top) for the label ``text`` at multiplier ``m``."""
    sides = (True, False) if m < 0.75 else (False, True)
    corners = [(right, top) for top in (True, False) for right in sides]
    if panel is None:
        return corners[0]
    x0, x1 = panel.x_range
    y0, y1 = panel.y_range
    w = (text_px(text) + 12) / panel.width_px * (x1 - x0)  # with the shift and padding
    h = (TEXT_PX + 10) / panel.height_px * (y1 - y0)
    for right, top in corners:
        left_x, right_x = (m, m + w) if right else (m - w, m)
        low, high = (y1 - h, y1) if top else (y0, y0 + h)
        inside = x0 <= left_x and right_x <= x1
        if inside and not any(
            y is not None and left_x <= x <= right_x and low <= y <= high for x, y in panel.points
        ):
            return right, top
    return corners[0]
