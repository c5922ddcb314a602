"""Colours: one fixed colour per weight width, whatever the ladder, and the charts' other inks.

A width keeps its colour in every figure and every ladder (4-bit is vermillion with 4/8/16 and
with 2/4/8/16), so figures made under different settings can sit side by side. The usual widths
come from the Okabe-Ito palette (distinguishable with the common colour-vision deficiencies),
ordered from warm (few bits) to cool (many bits); 1, 2 and 64 bits take black, Tol's wine and a
neutral grey. Any other width from 1 to 64 is interpolated in RGB between the two nearest table
widths, at its position on a log2 scale (5 bits sits between 4 and 6, 24 between 16 and 32);
widths above 64 take the 64-bit colour.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

WIDTH_COLORS: dict[int, str] = {
    1: "#000000",  # black
    2: "#882255",  # wine (Tol)
    3: "#CC79A7",  # reddish purple
    4: "#D55E00",  # vermillion
    6: "#E69F00",  # orange
    8: "#F0E442",  # yellow
    12: "#009E73",  # bluish green
    16: "#0072B2",  # blue
    32: "#56B4E9",  # sky blue
    64: "#666666",  # grey
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
    ra, ga, ba = (int(a[i : i + 2], 16) for i in (1, 3, 5))
    rb, gb, bb = (int(b[i : i + 2], 16) for i in (1, 3, 5))
    mixed = (round(x + (y - x) * t) for x, y in ((ra, rb), (ga, gb), (ba, bb)))
    return "#" + "".join(f"{v:02X}" for v in mixed)
