"""Where the bits go at one budget: the per-block heatmap and the width distribution."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..model.blocks import group_blocks
from ..model.problem import Problem
from ..report.display import percent
from ..solving.solution import Solution, WidthShare
from .colors import CURRENT, option_colors
from .layout import (
    HALF,
    MONO,
    TEXT_PX,
    WIDE,
    axis,
    axis_title,
    context_line,
    figure_layout,
    file_stem,
    header_px,
    infeasible_notice,
    legend_rows,
    legend_swatch,
    panel_title,
    plain,
)

_ROW_PX = 30  # one block row of the heatmap
_ROW_PX_COMPACT = 26
_LEGEND_TITLE = "bits (W · A) "


def legend_title(problem) -> str:
    return "format (W · A) " if problem.formats is not None else _LEGEND_TITLE


# outlines of the constraints' groups: dark inks apart from every width's colour
GROUP_INKS = ("#1f2933", "#7b2cbf", "#9d0208", "#2d6a4f", "#6f4e37", "#ff006e", "#3a0ca3")
_GROUP_SYMBOLS = ("square-open", "diamond-open", "circle-open", "hexagon-open", "star-open")
_MONO_EM = 0.6  # one character of monospace text, in em
_LABEL_PX = _MONO_EM * TEXT_PX  # one character of the row labels
_CELL_TEXT_PAD = 4  # px a cell needs beside its printed width
DISTRIBUTION_HEIGHT = 420


def width_label(width: int) -> str:
    return f"{width}-bit"


_FORMAT_TITLES = {  # the titles of charts of widths, for a problem of formats
    "Weight bits per layer, by block": "Format per layer, by block",
    "Bit-width distribution": "Format distribution",
    "Widths per group": "Formats per group",
    "Layers per width": "Layers per format",
    "Bit-width distribution by budget": "Format distribution by budget",
}


def titled(problem, title: str | None) -> str | None:
    """``title`` as it reads for this problem (a chart of formats says formats)."""
    if problem.formats is None or title is None:
        return title
    return _FORMAT_TITLES.get(title, title)


@dataclass(frozen=True)
class _Grid:
    """The heatmap's cells: one row per block, layers in file order; None pads short rows."""

    rows: list[str]  # "block (layer count)"
    z: list[list[int | None]]  # option index per cell
    names: list[list[str | None]]
    hover: list[list[str]]
    text: list[list[str]]
    pins: list[tuple[int, str]]  # (column, row label) of each pinned layer
    columns: int
    cells: dict[int, tuple[int, str]]  # layer index -> (column, row label)
    modules: list[str] | None = None  # each column's module, when the blocks repeat one list


def _grid(solution: Solution, *, show: bool) -> _Grid:
    problem = solution.problem
    blocks = group_blocks(problem.names)
    columns = max(len(b.layers) for b in blocks)
    bops = solution.layer_bops()
    total = math.fsum(bops.tolist())
    share = (bops / total if total > 0 else np.zeros_like(bops)).tolist()
    wbits, abits, choice = solution.wbits.tolist(), solution.abits.tolist(), solution.choice
    rows = [f"{plain(b.name)} ({len(b.layers)})" for b in blocks]
    pad: list[Any] = [None] * columns
    grid = _Grid(rows, [], [], [], [], [], columns, {}, _column_modules(problem.names, blocks))
    for label, block in zip(rows, blocks, strict=True):
        z, names, hover, text = list(pad), list(pad), [""] * columns, [""] * columns
        for c, i in enumerate(block.layers):
            names[c] = problem.names[i]
            grid.cells[i] = (c + 1, label)
            if problem.pinned[i]:
                grid.pins.append((c + 1, label))
            if not show:  # an infeasible budget: the frame, no allocation
                continue
            z[c] = int(choice[i])
            text[c] = str(wbits[i])
            hover[c] = _cell_hover(solution, i, share[i], wbits[i], abits[i])
        grid.z.append(z)
        grid.names.append(names)
        grid.hover.append(hover)
        grid.text.append(text)
    return grid


MAX_NAMED_COLUMNS = 24  # more columns than this are numbered, not named


def _column_modules(names: tuple[str, ...], blocks) -> list[str] | None:
    """Each column's module, when at least half of the blocks list the same modules in the
    same order (a transformer's layers: query, key, value, ...), each named by its shortest
    distinct ending; else None (the columns are positions, as in a UNet's blocks, or in blocks
    of more than ``MAX_NAMED_COLUMNS`` modules)."""
    lists = [
        tuple(names[i].removeprefix(block.name + ".") for i in block.layers)
        for block in blocks
        if len(block.layers) > 1
    ]
    if not lists:
        return None
    common, count = max(Counter(lists).items(), key=lambda c: (c[1], c[0]))
    if count < 2 or 2 * count < len(blocks) or len(common) != max(len(b.layers) for b in blocks):
        return None
    if len(common) > MAX_NAMED_COLUMNS:  # hundreds of experts' modules: positions read better
        return None
    parts = [m.split(".") for m in common]
    out = []
    for mine in parts:
        k = 1
        while k < len(mine) and sum(p[-k:] == mine[-k:] for p in parts) > 1:
            k += 1
        out.append(".".join(mine[-k:]))
    return out


def _cell_hover(solution: Solution, i: int, share: float, wbit: int, abit: int) -> str:
    problem = solution.problem
    lines = [
        f"<b>{plain(problem.names[i])}</b>",
        f"type: {plain(problem.types[i] or 'n/a')}",
        f"MACs: {problem.macs[i]:,.0f}",
        f"share of BOPs: {percent(share, 2)}",
        f"sensitivity: {problem.sensitivity[i]:.4g}",
        f"width: W{wbit} A{abit}",
    ]
    if problem.formats is not None and solution.feasible:
        lines[-1] = f"format: {plain(problem.formats[solution.choice[i]].name)} (W{wbit} A{abit})"
    for group in problem.groups:
        if i in group.members:
            lines.append(f"group: {plain(group.name)}")
            break
    if problem.pinned[i]:
        kept = [str(w) for w, ok in zip(problem.widths, problem.allowed[i], strict=True) if ok]
        lines.append(f"pinned to {'/'.join(kept)} bits")
    return "<br>".join(lines)


def _group_outlines(solution: Solution, grid: _Grid, *, compact: bool) -> list[dict[str, Any]]:
    """One trace per group (that does not hold every layer): an open marker around each of
    its layers' cells, sized to the cell."""
    problem = solution.problem
    groups = [g for g in problem.groups if len(g.members) < problem.n_layers]
    if not groups:
        return []
    cell_w = _cell_width(grid)
    cell_h = _row_px(compact) - 3  # less its ygap
    size = max(5.0, min(cell_w, cell_h) - 1)
    traces = []
    for g, group in enumerate(groups):
        cells = [grid.cells[i] for i in sorted(group.members)]
        traces.append(
            {
                "type": "scatter",
                "name": f"group {plain(group.name)}",
                "x": [c for c, _ in cells],
                "y": [row for _, row in cells],
                "mode": "markers",
                "marker": {
                    "symbol": _GROUP_SYMBOLS[g % len(_GROUP_SYMBOLS)],
                    "size": round(size, 1),
                    "color": GROUP_INKS[g % len(GROUP_INKS)],
                    "line": {"width": 2, "color": GROUP_INKS[g % len(GROUP_INKS)]},
                },
                "hoverinfo": "skip",
            }
        )
    return traces


def _row_px(compact: bool) -> int:
    """The px height of one block row of the heatmap."""
    return _ROW_PX_COMPACT if compact else _ROW_PX


def _cell_width(grid: _Grid) -> float:
    """The px width of one cell in the exported heatmap (row labels and gaps taken off)."""
    label_px = _LABEL_PX * max(len(row) for row in grid.rows)
    return (WIDE - 30 - label_px) / grid.columns - 2  # less the heatmap's xgap


def _cell_text_fits(grid: _Grid, widths: tuple[int, ...]) -> bool:
    """Whether each cell is wide enough for its width printed at the figures' text size."""
    digits = max(len(str(w)) for w in widths)
    return _cell_width(grid) >= digits * _MONO_EM * TEXT_PX + _CELL_TEXT_PAD


def _x_ticks(columns: int) -> dict[str, Any]:
    """Every position for a few columns, every 5th or 10th for wide blocks."""
    step = 1 if columns <= 12 else (5 if columns <= 60 else 10)
    return {"tickmode": "linear", "tick0": 1 if step == 1 else step, "dtick": step}


def option_scale(colors: list[str]) -> list[list[Any]]:
    """A discrete colour scale: option j fills [j - 0.5, j + 0.5] of -0.5..k-0.5."""
    k = len(colors)
    scale: list[list[Any]] = []
    for j, color in enumerate(colors):
        scale += [[j / k, color], [(j + 1) / k, color]]
    return scale


def _heatmap_trace(grid: _Grid, problem, *, cell_text: bool) -> dict[str, Any]:
    """The single heatmap trace: each cell's option index, layer name, hover text and width."""
    widths = problem.widths
    return {
        "type": "heatmap",
        "name": "layers",
        "z": grid.z,
        "x": list(range(1, grid.columns + 1)),
        "y": grid.rows,
        "customdata": grid.names,
        "hovertext": grid.hover,
        "text": grid.text,
        "texttemplate": "%{text}" if cell_text and _cell_text_fits(grid, widths) else "",
        "textfont": {"size": TEXT_PX, "family": MONO},
        "hovertemplate": "%{hovertext}<extra></extra>",
        "colorscale": option_scale(option_colors(problem)),
        "zmin": -0.5,
        "zmax": len(widths) - 0.5,
        "showscale": False,
        "xgap": 2,
        "ygap": 3,
        "hoverongaps": False,
        "showlegend": False,
    }


def width_swatches(solution: Solution) -> list[dict[str, Any]]:
    """One legend entry per width (its W · A bits in its colour); none when infeasible."""
    if not solution.feasible:
        return []
    problem = solution.problem
    colors = option_colors(problem)
    bits = [f"W{w} · A{a}" for w, a in zip(problem.widths, problem.abits, strict=True)]
    if problem.formats is not None:
        bits = [f"{f.name} ({b})" for f, b in zip(problem.formats, bits, strict=True)]
    return [legend_swatch(b, c) for b, c in zip(bits, colors, strict=True)]


def _pin_marks(grid: _Grid) -> list[dict[str, Any]]:
    """The "pinned" trace: a dot on each pinned layer's cell (no trace without pins)."""
    if not grid.pins:
        return []
    return [
        {
            "type": "scatter",
            "name": "pinned",
            "x": [c for c, _ in grid.pins],
            "y": [row for _, row in grid.pins],
            "mode": "markers",
            "marker": {
                "symbol": "circle",
                "size": 8,
                "color": CURRENT,
                "line": {"color": "white", "width": 1.5},
            },
            "hoverinfo": "skip",
        }
    ]


def _heatmap_xaxis(grid: _Grid, *, compact: bool) -> dict[str, Any]:
    """The layer-position axis (the module of each column, when the blocks repeat one list),
    titled unless compact."""
    if grid.modules is not None:
        x_title = None if compact else axis_title("module in the block")
        ticks = {"tickmode": "array", "tickvals": list(range(1, grid.columns + 1)),
                 "ticktext": [_stacked(m) for m in grid.modules], "tickangle": 0}  # fmt: skip
    else:
        x_title = None if compact else axis_title("layer position in the block (file order)")
        ticks = _x_ticks(grid.columns)
    return axis(title=x_title, range=[0.5, grid.columns + 0.5], showgrid=False, **ticks)


def _stacked(module: str) -> str:
    """A module's name one dotted part a line (``attention<br>output<br>dense``): long names
    stay upright under their column."""
    return "<br>".join(plain(part) for part in module.split("."))


def _module_lines(grid: _Grid) -> int:
    return max((m.count(".") + 1 for m in grid.modules), default=1) if grid.modules else 1


def _heatmap_yaxis(grid: _Grid) -> dict[str, Any]:
    """The block axis: one category per row, in network order from the top."""
    return axis(
        type="category",
        categoryorder="array",
        categoryarray=grid.rows,
        range=[len(grid.rows) - 0.5, -0.5],  # first block on top, also with no cell drawn
        showgrid=False,
        ticks="",
        tickfont={"family": MONO, "size": TEXT_PX},
    )


def _heatmap_layout(
    solution: Solution, grid: _Grid, legend_names: list[str], *, title: str | None, compact: bool
) -> dict[str, Any]:
    """The heatmap's layout: a height that fits the header, legend rows and block rows."""
    feasible = solution.feasible
    reserved = legend_rows(legend_names, legend_title(solution.problem))
    legend = feasible or bool(grid.pins)
    subtitle = context_line(solution)
    header = header_px(legend=legend, rows=reserved, title=title, subtitle=subtitle, width=WIDE)
    plot_px = _row_px(compact) * len(grid.rows)
    bottom = (40 if compact else 70) + (_module_lines(grid) - 1) * (TEXT_PX + 4)
    layout = figure_layout(
        file=file_stem("heatmap", [solution.multiplier]),
        width=WIDE,
        height=header + plot_px + bottom,
        title=title,
        subtitle=subtitle,
        legend=legend,
        rows=reserved,
        xaxis=_heatmap_xaxis(grid, compact=compact),
        yaxis=_heatmap_yaxis(grid),
        # no empty list when feasible: the validated figure has none either
        **({} if feasible else {"annotations": [infeasible_notice(solution, width=WIDE)]}),
    )
    layout["legend"]["title"] = {"text": legend_title(solution.problem), "font": {"size": TEXT_PX}}
    return layout


def bit_heatmap_spec(
    solution: Solution,
    *,
    title: str | None = "Weight bits per layer, by block",
    compact: bool = False,
    cell_text: bool = False,
) -> dict[str, Any]:
    """One row per block (network order), layers in file order along x, one colour per width.

    A single heatmap trace: ``z`` holds each layer's option index (its width's fixed colour
    through a discrete colour scale), ``customdata`` its name (None pads short rows),
    ``hovertext`` its name, type, MACs, BOPs share, sensitivity and widths. A "pinned" trace
    marks pinned layers. At an infeasible budget the rows stay but no cell is filled, and a
    notice says why. ``cell_text`` prints each width in its cell (for wide exports) when the
    cells are wide enough for it at the figures' text size. Each
    group of the constraints that does not hold every layer outlines its layers' cells in an
    ink of its own (first group: a square, then other shapes), named in the legend.
    """
    grid = _grid(solution, show=solution.feasible)
    legend = [
        *width_swatches(solution),
        *_group_outlines(solution, grid, compact=compact),
        *_pin_marks(grid),
    ]
    names = [t["name"] for t in legend]
    layout = _heatmap_layout(
        solution, grid, names, title=titled(solution.problem, title), compact=compact
    )
    heatmap = _heatmap_trace(grid, solution.problem, cell_text=cell_text)
    return {"data": [heatmap, *legend], "layout": layout}


def plot_bit_heatmap(
    solution: Solution,
    *,
    title: str | None = "Weight bits per layer, by block",
    compact: bool = False,
    cell_text: bool = False,
) -> go.Figure:
    """The figure of :func:`bit_heatmap_spec` (see there)."""
    return go.Figure(bit_heatmap_spec(solution, title=title, compact=compact, cell_text=cell_text))


def _distribution_bars(solution: Solution) -> list[dict[str, Any]]:
    """The two bar traces: layers per width (left panel), each width's BOPs share (right)."""
    rows = solution.width_shares()  # one row per option, in the options' order
    common = {
        "type": "bar",
        "x": list(solution.problem.option_labels),
        "marker": {"color": option_colors(solution.problem)},
        "textposition": "outside",
        "cliponaxis": False,
        "textfont": {"size": TEXT_PX},
    }
    # formats: more and longer names under narrow bars, whole percents above them
    decimals = 0 if solution.problem.formats is not None else 2
    return [
        common | _layer_counts(rows, feasible=solution.feasible),
        common | _bops_shares(rows, feasible=solution.feasible, decimals=decimals),
    ]


def _layer_counts(rows: tuple[WidthShare, ...], *, feasible: bool) -> dict[str, Any]:
    """The left panel's values, labels and hover text: how many layers took each width."""
    counts = [r.layers if feasible else None for r in rows]
    return {
        "name": "layers",
        "y": counts,
        "text": [f"{c:,}" if c is not None else "" for c in counts],
        "hovertemplate": "%{x}: %{y:,} layers<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }


def _bops_shares(
    rows: tuple[WidthShare, ...], *, feasible: bool, decimals: int = 2
) -> dict[str, Any]:
    """The right panel's values, labels and hover text: each width's percent of the BOPs."""
    return {
        "name": "share of BOPs",
        "y": [r.bops_share * 100 if feasible else None for r in rows],
        "text": [percent(r.bops_share, decimals) if feasible else "" for r in rows],
        "hovertemplate": "%{x}: %{text} of the BOPs<extra></extra>",
        "xaxis": "x2",
        "yaxis": "y2",
    }


def _distribution_axes(
    top_count: int, *, feasible: bool, slanted: bool = False
) -> dict[str, dict[str, Any]]:
    """Both panels' axes: layer counts (left) and percent of the BOPs (right); ``slanted``
    names (formats) at 45 degrees."""
    names = {"tickangle": -45} if slanted else {}
    return {
        "xaxis": axis(domain=[0, 0.44], type="category", anchor="y", **names),
        "yaxis": axis(  # the panel titles name both axes
            range=[0, top_count * 1.18],
            showticklabels=feasible,
            anchor="x",
        ),
        "xaxis2": axis(domain=[0.58, 1], type="category", anchor="y2", **names),
        "yaxis2": axis(
            range=[0, 118],
            dtick=20,
            ticksuffix="%",
            showticklabels=feasible,
            anchor="x2",
        ),
    }


def _panel_notes(
    solution: Solution, left: tuple[str, float], right: tuple[str, float]
) -> list[dict[str, Any]]:
    """Both panels' titles (text, x), then the notice of an infeasible budget."""
    notice = [] if solution.feasible else [infeasible_notice(solution, width=HALF)]
    return [panel_title(*left), panel_title(*right), *notice]


def distribution_spec(
    solution: Solution, *, title: str | None = "Bit-width distribution"
) -> dict[str, Any]:
    """Layers per width (left) and each width's share of the BOPs (right), in the widths'
    colours. At an infeasible budget the bars are empty and a notice says why."""
    data = _distribution_bars(solution)
    top_count = max([c or 0 for c in data[0]["y"]] + [1])  # the layers panel's highest bar
    layout = figure_layout(
        file=file_stem("distribution", [solution.multiplier]),
        width=HALF,
        height=DISTRIBUTION_HEIGHT,
        title=titled(solution.problem, title),
        subtitle=context_line(solution),
        legend=False,
        top=28,
        bargap=0.3,
        uniformtext={"mode": "show", "minsize": TEXT_PX},  # labels never shrink to fit a bar
        **_distribution_axes(
            top_count,
            feasible=solution.feasible,
            slanted=solution.problem.formats is not None,
        ),
        annotations=_panel_notes(
            solution,
            (titled(solution.problem, "Layers per width"), 0.22),
            ("Share of the BOPs", 0.79),
        ),
    )
    return {"data": data, "layout": layout}


def plot_distribution(
    solution: Solution, *, title: str | None = "Bit-width distribution"
) -> go.Figure:
    """The figure of :func:`distribution_spec` (see there)."""
    return go.Figure(distribution_spec(solution, title=title))


def plot_distribution_by_group(
    solution: Solution, *, title: str | None = "Widths per group"
) -> go.Figure:
    """The figure of :func:`distribution_by_group_spec` (see there)."""
    return go.Figure(distribution_by_group_spec(solution, title=title))


def _group_mean(solution: Solution, key: str, owner: np.ndarray) -> float | None:
    """The params-weighted mean width of a group ("": the layers in no group), None when
    infeasible or without parameter counts."""
    if not solution.feasible:
        return None
    if key:
        mean = solution.param_mean_wbits(key)
    else:
        mask = owner == ""
        p = solution.problem.params[mask]
        ok = not np.isnan(p).any() and p.sum() > 0
        mean = float((p * solution.wbits[mask]).sum() / p.sum()) if ok else math.nan
    return None if math.isnan(mean) else mean


def _group_columns(problem: Problem, owner: np.ndarray) -> tuple[list[str], list[str]]:
    """The groups' keys and names, then ("", "(no group)") when some layer is in no group."""
    rest = (owner == "").any()
    keys = [g.name for g in problem.groups] + ([""] if rest else [])
    names = [g.name for g in problem.groups] + (["(no group)"] if rest else [])
    return keys, names


def _group_width_bars(
    solution: Solution, keys: list[str], names: list[str], owner: np.ndarray
) -> list[dict[str, Any]]:
    """One stacked bar trace per width: how many of each group's layers took it (left)."""
    problem = solution.problem
    colors, labels = option_colors(problem), problem.option_labels
    data: list[dict[str, Any]] = []
    for j, width in enumerate(problem.widths):
        counts = [
            int(((owner == key) & (solution.choice == j)).sum()) if solution.feasible else None
            for key in keys
        ]
        at = f"{width} bits" if problem.formats is None else plain(labels[j])
        data.append(
            {
                "type": "bar",
                "name": plain(labels[j]),
                "x": [plain(n) for n in names],
                "y": counts,
                "marker": {"color": colors[j]},
                "hovertemplate": f"%{{x}}: %{{y}} layers at {at}<extra></extra>",
            }
        )
    return data


def _group_mean_bar(
    solution: Solution, keys: list[str], names: list[str], owner: np.ndarray
) -> dict[str, Any]:
    """The bar trace of each group's params-weighted mean width, printed on it (right)."""
    means = [_group_mean(solution, key, owner) for key in keys]
    return {
        "type": "bar",
        "name": "mean weight bits",
        "x": [plain(n) for n in names],
        "y": means,
        "marker": {"color": "#52606d"},
        "text": ["" if m is None else f"{m:.2f}" for m in means],
        "textposition": "outside",
        "textfont": {"size": TEXT_PX},
        "cliponaxis": False,
        "xaxis": "x2",
        "yaxis": "y2",
        "showlegend": False,
        "hovertemplate": "%{x}: mean %{y:.3f} bits (params-weighted)<extra></extra>",
    }


def distribution_by_group_spec(
    solution: Solution, *, title: str | None = "Widths per group"
) -> dict[str, Any]:
    """For each group of the constraints (and the layers in no group): how many of its layers
    took each width (left) and its params-weighted mean width (right, when the Phase 1 file
    gives parameter counts)."""
    owner = solution.problem.group_of()
    keys, names = _group_columns(solution.problem, owner)
    data = [
        *_group_width_bars(solution, keys, names, owner),
        _group_mean_bar(solution, keys, names, owner),
    ]
    layout = figure_layout(
        file=file_stem("groups", [solution.multiplier]),
        width=HALF,
        height=DISTRIBUTION_HEIGHT,
        title=titled(solution.problem, title),
        subtitle=context_line(solution),
        top=28,
        barmode="stack",
        uniformtext={"mode": "show", "minsize": TEXT_PX},
        xaxis=axis(domain=[0, 0.55], type="category", anchor="y"),
        yaxis=axis(anchor="x", title=axis_title("layers")),
        xaxis2=axis(domain=[0.68, 1], type="category", anchor="y2"),
        yaxis2=axis(anchor="x2", range=[0, max(solution.problem.widths) * 1.15]),
        annotations=_panel_notes(
            solution,
            (titled(solution.problem, "Layers per width"), 0.275),
            ("Mean weight bits", 0.84),
        ),
    )
    layout["legend"]["traceorder"] = "normal"  # 4/8/16, as everywhere (stacks reverse it)
    return {"data": data, "layout": layout}
