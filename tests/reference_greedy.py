"""The literal O(rounds x layers) bang-for-buck greedy: the reference the fast one must match."""

from __future__ import annotations

import math


def reference_greedy(macs, scores, budget, *, discount=0.2, widths=(4, 8, 16), pins=None):
    """The literal O(rounds x layers) bang-for-buck loop, on plain lists.

    "Fits" is the documented rule: the allocation's cost summed with ``math.fsum`` is at most
    the budget (so no accumulation order can push it over). Returns (chosen widths, upgrade
    order as (layer, new width)), or None if infeasible.
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

    def total(changed=None):
        picks = list(state)
        if changed is not None:
            picks[changed[0]] = changed[1]
        return math.fsum(cost(i, picks[i]) for i in range(n))

    if total() > budget:
        return None
    order = []
    while True:
        best, pick = None, None
        for i in range(n):
            later = [j for j in allowed[i] if j > state[i]]
            if not later:
                continue
            nxt = later[0]
            if total((i, nxt)) > budget:
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
        state[i] = nxt
        order.append((i, widths[nxt]))
