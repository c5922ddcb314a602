"""The literal O(rounds x layers) bang-for-buck greedy: the reference the fast one must match."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

_SCALE = 1 << 1100  # every finite float times this is a whole number


def reference_greedy(macs, scores, budget, *, discount=0.2, widths=(4, 8, 16), pins=None):
    """The literal O(rounds x layers) bang-for-buck loop, on plain lists.

    "Fits" is the documented rule: the allocation's cost summed with ``math.fsum`` (correctly
    rounded) is at most the budget, so no accumulation order can push it over. The running cost
    is kept exactly, as a whole number of 2**-1100, and compared with the largest such number
    that still rounds to at most the budget. Returns (chosen widths, upgrade order as
    (layer, new width)), or None if infeasible.
    """
    pins = pins or {}
    abit = [min(w + 4, 16) for w in widths]
    n = len(macs)
    allowed = [[j for j, w in enumerate(widths) if w in pins.get(i, widths)] for i in range(n)]
    value = [[0.0] * len(widths) for _ in range(n)]
    for i in range(n):
        for j in range(1, len(widths)):
            value[i][j] = value[i][j - 1] + scores[i] * discount ** (j - 1)

    def cost(i, j):
        return macs[i] * (widths[j] * abit[j])

    state = [allowed[i][0] for i in range(n)]
    limit = _largest_fitting(budget)
    current = sum(_exact(cost(i, state[i])) for i in range(n))
    if current > limit:
        return None
    order = []
    while True:
        best, pick = None, None
        for i in range(n):
            later = [j for j in allowed[i] if j > state[i]]
            if not later:
                continue
            nxt = later[0]
            if current + _exact(cost(i, nxt)) - _exact(cost(i, state[i])) > limit:
                continue
            delta = cost(i, nxt) - cost(i, state[i])
            if nxt == state[i] + 1:
                gain = scores[i] * discount ** state[i]
            else:
                gain = value[i][nxt] - value[i][state[i]]
            ratio = math.inf if delta <= 0 else gain / delta
            if best is None or ratio > best:
                best, pick = ratio, (i, nxt)
        if pick is None:
            return [widths[j] for j in state], order
        i, nxt = pick
        current += _exact(cost(i, nxt)) - _exact(cost(i, state[i]))
        state[i] = nxt
        order.append((i, widths[nxt]))


def _exact(x: float) -> int:
    return int(Fraction(x) * _SCALE)


def _largest_fitting(budget: float) -> int:
    """The largest whole number s of 2**-1100 whose correctly rounded float is <= budget."""
    above = math.nextafter(budget, math.inf)
    midpoint = (Fraction(budget) + Fraction(above)) / 2 * _SCALE
    (bits,) = struct.unpack("<Q", struct.pack("<d", budget))
    whole = math.floor(midpoint)
    return whole - 1 if whole == midpoint and bits & 1 else whole
