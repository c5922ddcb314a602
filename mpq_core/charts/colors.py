"""Colours: one fixed colour per weight width, whatever the ladder, one per catalog format, and
the charts' other inks.

A width keeps its colour in every figure and every ladder (4-bit is orange with 4/8/16 and
with 2/4/8/16), so figures made under different settings can sit side by side. The colours run
from warm and light (few bits) to cool and dark (many bits), and their lightness falls
steadily with the width: printed in greyscale, or seen with a colour-vision deficiency, more
bits still read darker, and neighbouring powers of two differ by at least 12 in CIELAB
lightness L* (about 13-18 between 2, 4, 8, 16 and 32 bits). The lightest usual width (2 bits,
L* 78) stays visible on white paper. Any other width from 1 to 64 is interpolated in linear-light
RGB (so its lightness lies between its neighbours') between the two nearest table widths, at
its position on a log2 scale (6 bits sits between 4 and 8, 24 between 16 and 32); widths above
64 take the 64-bit colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..model.problem import Problem

WIDTH_COLORS: dict[int, str] = {  # hue, CIELAB lightness L*
    1: "#F3DD7C",  # pale gold, L* 88
    2: "#FAB433",  # amber, L* 78
    4: "#FD7636",  # orange, L* 65
    8: "#00886C",  # bluish green, L* 50
    16: "#004E8C",  # blue, L* 33
    32: "#2E2155",  # indigo, L* 17
    64: "#181818",  # near black, L* 8
}

# One fixed colour per catalog format (mpq_core.model.formats.CATALOG), in every figure and
# every format set. A format shares its family's hue with its weight width where it is the
# plain one (int4_g128 is the 4-bit orange, int8 the 8-bit green, bf16 the 16-bit blue); the
# others of a width take nearby but distinct hues (integer groups in oranges and reds, FP4s in
# violets and magentas, 8-bit floats in teals and greens), lighter for fewer bits as a rule.
FORMAT_COLORS: dict[str, str] = {
    "int2_g64": "#F3DD7C",  # pale gold
    "int3_g128": "#F6C343",  # gold
    "int4_g128": "#FD7636",  # orange (the 4-bit width)
    "int4_g64": "#FFA869",  # light orange
    "int4_g32": "#D1495B",  # coral red
    "w4a8_g128": "#A0522D",  # sienna
    "mxfp4": "#9B5DE5",  # violet
    "nvfp4": "#C2187A",  # magenta
    "nvfp4_w4a16": "#F15BB5",  # pink
    "mxfp6": "#6A994E",  # olive
    "int8": "#00886C",  # bluish green (the 8-bit width)
    "w8a8": "#52B788",  # light green
    "fp8": "#0F5257",  # dark teal
    "mxfp8": "#90BE6D",  # yellow-green
    "fp16": "#4895EF",  # light blue
    "bf16": "#004E8C",  # blue (the 16-bit width)
}
# for formats of one's own: their width's colour, else (taken) the first of these not in use
SPARE_COLORS = ("#6c757d", "#8d6e63", "#26547c", "#ef476f", "#118ab2", "#073b4c", "#ffd166")

SOLVER_COLORS = {"greedy": "#3d5a80", "exact": "#c44536"}
SOLVER_DASH = {"greedy": "solid", "exact": "dash"}
SOLVER_SYMBOL = {"greedy": "circle", "exact": "diamond"}
OTHER_SOLVER = "#6c757d"
CURRENT = "#1f2933"  # the current budget: marker, line and label
INFEASIBLE = "#b3261e"
INFEASIBLE_FILL = "rgba(179, 38, 30, 0.10)"
FLOOR = "#9aa5b1"  # the part of a budget every allocation must spend
SPENT = "#3d5a80"  # what the upgrades above the floor cost
TEXT = "#1f2933"
MUTED = "#52606d"
GRID = "#e6eaef"
AXIS_LINE = "#c5ccd3"


def width_color(width: int) -> str:
    """The fixed colour of a weight width (``#rrggbb``), for any width >= 1."""
    if isinstance(width, bool) or int(width) != width or width < 1:
        raise ValueError(f"a width is a whole number >= 1, not {width!r}")
    width = int(width)
    if width in WIDTH_COLORS:
        return WIDTH_COLORS[width]
    table = sorted(WIDTH_COLORS)
    if width > table[-1]:
        return WIDTH_COLORS[table[-1]]
    upper = next(w for w in table if w > width)
    lower = max(w for w in table if w < width)
    t = (math.log2(width) - math.log2(lower)) / (math.log2(upper) - math.log2(lower))
    return _mix(WIDTH_COLORS[lower], WIDTH_COLORS[upper], t)


def bits_color(bits: float) -> str:
    """The colour of a mean of weight bits (``#rrggbb``): a table width's own colour, and
    between two table widths the same log2 interpolation as :func:`width_color`."""
    if not bits >= 1:
        raise ValueError(f"mean weight bits are >= 1, not {bits!r}")
    table = sorted(WIDTH_COLORS)
    if bits >= table[-1]:
        return WIDTH_COLORS[table[-1]]
    upper = next(w for w in table if w > bits)
    lower = max(w for w in table if w <= bits)
    t = (math.log2(bits) - math.log2(lower)) / (math.log2(upper) - math.log2(lower))
    return WIDTH_COLORS[lower] if t == 0 else _mix(WIDTH_COLORS[lower], WIDTH_COLORS[upper], t)


def width_colors(widths: Iterable[int]) -> dict[int, str]:
    """``{width: colour}`` for a ladder; each colour is :func:`width_color` of its width."""
    return {int(w): width_color(w) for w in widths}


def option_colors(problem: Problem) -> list[str]:
    """The colour of each option of a problem: its width's for a ladder; for formats each
    catalog format's own (``FORMAT_COLORS``), a format of one's own its width's colour, or a
    spare one when that colour is taken in this set."""
    if problem.formats is None:
        return [width_color(w) for w in problem.widths]
    out: list[str] = []
    for fmt in problem.formats:
        color = FORMAT_COLORS.get(fmt.name) or width_color(fmt.bits)
        if color in out:
            color = next((c for c in SPARE_COLORS if c not in out), color)
        out.append(color)
    return out


def solver_color(solver: str) -> str:
    return SOLVER_COLORS.get(solver, OTHER_SOLVER)


def _mix(a: str, b: str, t: float) -> str:
    """``a`` and ``b`` mixed in linear light: the luminance runs straight from one to the
    other, so a width between two table widths is never lighter or darker than both."""
    mixed = [
        _encode(_linear(x) + (_linear(y) - _linear(x)) * t)
        for x, y in zip(_channels(a), _channels(b), strict=True)
    ]
    return "#" + "".join(f"{round(v * 255):02X}" for v in mixed)


def _channels(color: str) -> tuple[float, float, float]:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return r, g, b


def _linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _encode(c: float) -> float:
    return 12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055
