"""Where the bits go in a large model: one cell per (module kind, block) instead of one per
layer, and a block's own layers on demand.

Above :data:`MAX_LAYER_CELLS` layers a heatmap of every layer would have more cells than a
screen has pixels for them. :func:`module_map_spec` draws the figure the LLM papers show:
the blocks along x (a transformer's layer index), the module kinds down y (``q_proj`` ...
``mlp.experts.*.down_proj``: every expert of one projection in one block is one cell), each
cell coloured by the mean weight bits of its layers, weighted by their parameters (the
format's bits per weight, scales included, for a problem of formats). Its hover gives the
cell's layer count and how many of them take each option. :func:`block_detail_spec` opens
one block: its kinds down y, each kind's layers along x, one colour per option as in the
layer heatmap.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from ..model.blocks import ModuleMap
from ..model.problem import Problem
from ..solving.solution import Solution
from .allocation import bit_heatmap_spec, legend_title, option_scale, width_swatches
from .colors import bits_color, option_colors
from .layout import (
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
    plain,
)

MAX_LAYER_CELLS = 2_000  # up to this many layers the heatmap draws one cell per layer
_ROW_PX = 34
_STOPS = 24  # colours sampled along the scale between the options' own


def per_weight_bits(problem: Problem) -> np.ndarray:
    """(n, k) weight bits per parameter of each layer at each option: the width, or for a
    format its weight memory (scales included) over the layer's parameters."""
    n = problem.n_layers
    if problem.formats is None or np.isnan(problem.params).any():
        nominal = [f.bits for f in problem.formats] if problem.formats else list(problem.widths)
        return np.broadcast_to(np.asarray(nominal, dtype=np.float64), (n, len(nominal)))
    return problem.resource("bpw") / problem.params[:, None]


def _weights(problem: Problem) -> np.ndarray:
    """Each layer's weight in a cell's mean: its parameters, or 1 when some are unknown."""
    params = problem.params
    return np.ones(problem.n_layers) if np.isnan(params).any() else params


def cell_means(solution: Solution) -> np.ndarray:
    """(kinds, blocks) parameter-weighted mean weight bits of each cell, NaN where empty."""
    problem = solution.problem
    grid = problem.module_map()
    n = problem.n_layers
    bits = per_weight_bits(problem)[np.arange(n), solution.choice]
    weight = _weights(problem)
    size = len(grid.kinds) * len(grid.blocks)
    total = np.bincount(grid.cell, weights=weight * bits, minlength=size)
    mass = np.bincount(grid.cell, weights=weight, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)
    return means.reshape(len(grid.kinds), len(grid.blocks))


def cell_mix(solution: Solution) -> np.ndarray:
    """(kinds, blocks, options) layers of each cell at each option."""
    problem = solution.problem
    grid = problem.module_map()
    k = len(problem.widths)
    size = len(grid.kinds) * len(grid.blocks)
    flat = np.bincount(grid.cell * k + solution.choice, minlength=size * k)
    return flat.reshape(len(grid.kinds), len(grid.blocks), k)


def _kind_axis(rows: list[str]) -> dict[str, Any]:
    """The module kinds down y, the first on top, in the monospace of layer names."""
    return axis(
        type="category",
        categoryorder="array",
        categoryarray=rows,
        range=[len(rows) - 0.5, -0.5],
        showgrid=False,
        ticks="",
        tickfont={"family": MONO, "size": TEXT_PX},
    )


def _block_ticks(grid: ModuleMap) -> tuple[list[str], str]:
    """Each block's label on x and the axis title: the number alone when every block but a
    few is ``<prefix>.<number>`` (``model.layers.7`` -> ``7``)."""
    heads = [name.rsplit(".", 1) for name in grid.blocks]
    numbered = [h for h in heads if len(h) == 2 and h[1].isdigit()]
    prefixes = {h[0] for h in numbered}
    if len(prefixes) == 1 and 2 * len(numbered) >= len(heads):
        (prefix,) = prefixes
        ticks = [h[1] if len(h) == 2 and h[0] == prefix else ".".join(h) for h in heads]
        return ticks, f"block ({prefix}.N)"
    return list(grid.blocks), "block"


_MAX_TICKS = 12  # block labels on x, at most (they stay apart on an 800 px page)


def _tick_step(count: int) -> int:
    """Every 1st, 2nd, 5th, 10th, 20th ... block: the smallest step that labels at most
    ``_MAX_TICKS`` of ``count`` blocks."""
    step = 1
    while -(-count // step) > _MAX_TICKS:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2
    return step


def _bits_scale(problem: Problem) -> tuple[float, float, list[list[Any]]]:
    """(zmin, zmax, colorscale): each option's bits in its own colour, means between them in
    the colour of those bits (:func:`~.colors.bits_color`)."""
    nominal = sorted({float(f.bits) for f in problem.formats} if problem.formats else
                     {float(w) for w in problem.widths})  # fmt: skip
    per_weight = per_weight_bits(problem)
    low, high = float(np.min(per_weight)), float(np.max(per_weight))
    low, high = min(low, nominal[0]), max(high, nominal[-1])
    if high <= low:
        high = low + 1.0
    points = sorted({*nominal, *np.linspace(low, high, _STOPS).tolist()})
    scale = [[(p - low) / (high - low), bits_color(max(p, 1.0))] for p in points]
    return low, high, scale


def _cell_hover(grid: ModuleMap) -> list[list[list[Any]]]:
    """Per cell: [block, kind, layers] (the same at every step: written once when packed)."""
    counts = grid.counts()
    return [
        [[plain(b), plain(kind), int(counts[r, c])] for c, b in enumerate(grid.blocks)]
        for r, kind in enumerate(grid.kinds)
    ]


def module_map_spec(
    solution: Solution, *, title: str | None = "Mean weight bits per module, by block"
) -> dict[str, Any]:
    """One row per module kind, one column per block (see the module docstring). At an
    infeasible setting the frame stays, no cell is filled, and a notice says why."""
    problem = solution.problem
    grid = problem.module_map()
    ticks, x_title = _block_ticks(grid)
    low, high, scale = _bits_scale(problem)
    feasible = solution.feasible
    if feasible:
        means = cell_means(solution)
        z = [[None if np.isnan(v) else round(float(v), 3) for v in row] for row in means]
        mix = cell_mix(solution)
        text = [["/".join(map(str, cell.tolist())) for cell in row] for row in mix]
    else:
        z = [[None] * len(grid.blocks) for _ in grid.kinds]
        text = [[""] * len(grid.blocks) for _ in grid.kinds]
    labels = "/".join(plain(label) for label in problem.option_labels)
    unit = "bits per weight" if problem.formats is not None else "weight bits"
    trace = {
        "type": "heatmap",
        "name": "cells",
        "z": z,
        "x": list(range(len(grid.blocks))),
        "y": [plain(kind) for kind in grid.kinds],
        "customdata": _cell_hover(grid),
        "text": text,
        "hovertemplate": (
            "<b>%{customdata[0]}</b> · %{customdata[1]}<br>%{customdata[2]} layers<br>"
            f"mean {unit}: %{{z:.2f}}<br>layers at {labels}: %{{text}}<extra></extra>"
        ),
        "colorscale": scale,
        "zmin": low,
        "zmax": high,
        "showscale": True,
        "colorbar": {
            "title": {"text": f"mean {unit}", "side": "right", "font": {"size": TEXT_PX}},
            "thickness": 14,
            "len": 1.0,
            "tickfont": {"size": TEXT_PX},
        },
        "xgap": 1,
        "ygap": 2,
        "hoverongaps": False,
        "showlegend": False,
    }
    subtitle = context_line(solution)
    title = None if title is None else plain(title)
    header = header_px(legend=False, title=title, subtitle=subtitle, width=WIDE)
    step = _tick_step(len(ticks))
    xaxis = axis(
        title=axis_title(x_title),
        tickmode="array",
        tickvals=list(range(0, len(ticks), step)),
        ticktext=ticks[::step],
        range=[-0.5, len(ticks) - 0.5],
        showgrid=False,
    )
    yaxis = _kind_axis(trace["y"])
    layout = figure_layout(
        file=file_stem("module_map", [solution.multiplier]),
        width=WIDE,
        height=header + _ROW_PX * len(grid.kinds) + 80,
        title=title,
        subtitle=subtitle,
        legend=False,
        xaxis=xaxis,
        yaxis=yaxis,
        **({} if feasible else {"annotations": [infeasible_notice(solution, width=WIDE)]}),
    )
    return {"data": [trace], "layout": layout}


def block_detail_spec(solution: Solution, block: str) -> dict[str, Any]:
    """The layers of one block: a row per module kind, its layers along x in file order (an
    expert's number for a kind of experts), one colour per option; hover names the layer."""
    problem = solution.problem
    grid = problem.module_map()
    if block not in grid.blocks:
        raise ValueError(f"no block {block!r} in this model")
    b = grid.blocks.index(block)
    members = np.flatnonzero(grid.block == b)
    kinds = sorted(set(grid.kind[members].tolist()))
    row_of = {kind: r for r, kind in enumerate(kinds)}
    columns = int(grid.position[members].max()) + 1
    z: list[list[int | None]] = [[None] * columns for _ in kinds]
    names: list[list[str | None]] = [[None] * columns for _ in kinds]
    text: list[list[str]] = [[""] * columns for _ in kinds]
    labels = problem.option_labels
    choice = solution.choice
    for i in members.tolist():
        r, c = row_of[int(grid.kind[i])], int(grid.position[i])
        names[r][c] = plain(problem.names[i])
        if solution.feasible:
            z[r][c] = int(choice[i])
            text[r][c] = plain(labels[int(choice[i])])
    rows = [plain(grid.kinds[kind]) for kind in kinds]
    swatches = width_swatches(solution)
    trace = {
        "type": "heatmap",
        "name": "layers",
        "z": z,
        "x": list(range(columns)),
        "y": rows,
        "customdata": names,
        "text": text,
        "hovertemplate": "<b>%{customdata}</b><br>%{text}<extra></extra>",
        "colorscale": option_scale(option_colors(problem)),
        "zmin": -0.5,
        "zmax": len(problem.widths) - 0.5,
        "showscale": False,
        "xgap": 1 if columns <= 200 else 0,
        "ygap": 2,
        "hoverongaps": False,
        "showlegend": False,
    }
    subtitle = context_line(solution)
    title = f"Block {plain(block)}: {len(members):,} layers"
    reserved = legend_rows([s["name"] for s in swatches], legend_title(problem))
    header = header_px(legend=bool(swatches), rows=reserved, title=title, subtitle=subtitle)
    layout = figure_layout(
        file=file_stem("block_" + block.replace(".", "_"), [solution.multiplier]),
        width=WIDE,
        height=header + _ROW_PX * len(rows) + 80,
        title=title,
        subtitle=subtitle,
        legend=bool(swatches),
        rows=reserved,
        xaxis=axis(
            title=axis_title("layer of that kind in the block (file order: the expert number)"),
            range=[-0.5, columns - 0.5],
            showgrid=False,
        ),
        yaxis=_kind_axis(rows),
        **({} if solution.feasible else {"annotations": [infeasible_notice(solution, width=WIDE)]}),
    )
    layout["legend"]["title"] = {"text": legend_title(problem), "font": {"size": TEXT_PX}}
    return {"data": [trace, *swatches], "layout": layout}


def heatmap_spec(
    solution: Solution, *, title: str | None = None, compact: bool = False
) -> dict[str, Any]:
    """Where the bits go: one cell per layer up to :data:`MAX_LAYER_CELLS` layers
    (:func:`~.allocation.bit_heatmap_spec`, ``compact`` for small multiples), one per module
    kind and block above (:func:`module_map_spec`); ``title`` replaces the default one."""
    if solution.problem.n_layers <= MAX_LAYER_CELLS:
        if title is None:
            return bit_heatmap_spec(solution, compact=compact)
        return bit_heatmap_spec(solution, title=title, compact=compact)
    return module_map_spec(solution) if title is None else module_map_spec(solution, title=title)


def plot_heatmap(
    solution: Solution, *, title: str | None = None, compact: bool = False
) -> go.Figure:
    """The figure of :func:`heatmap_spec`."""
    return go.Figure(heatmap_spec(solution, title=title, compact=compact))


def plot_block_detail(solution: Solution, block: str) -> go.Figure:
    """The figure of :func:`block_detail_spec`."""
    return go.Figure(block_detail_spec(solution, block))
