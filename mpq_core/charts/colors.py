"""Colours: one fixed colour per weight width, whatever the ladder, and the charts' other inks.

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

WIDTH_COLORS: dict[int, str] = {  # hue, CIELAB lightness L*
    1: "#F3DD7C",  # pale gold, L* 88
    2: "#FAB433",  # amber, L* 78
    4: "#FD7636",  # orange, L* 65
    8: "#00886C",  # bluish green, L* 50
    16: "#004E8C",  # blue, L* 33
    32: "#2E2155",  # indigo, L* 17
    64: "#181818",  # near black, L* 8
}

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


def width_colors(widths: Iterable[int]) -> dict[int, str]:
    """``{width: colour}`` for a ladder; each colour is :func:`width_color` of its width."""
    return {int(w): width_color(w) for w in widths}


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
