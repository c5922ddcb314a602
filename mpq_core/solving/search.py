"""Exact branch and bound over a few items, any number of limits, uses as exact integers.

The exact solver's multi-limit path calls it on the core left after fixing (and on whole
small instances); it decides "fits" exactly, where HiGHS works to a tolerance. Depth-first,
items with the widest spread of reduced values first, options best reduced value first.

Pruning, both safe:
- by use: a partial allocation whose use plus the least use of the remaining items exceeds a
  limit cannot be completed (exact integers);
- by value: for multipliers lambda >= 0 the remaining items are worth at most
  sum of their best v - lambda . u, plus lambda . (room left); a node whose bound cannot beat
  the incumbent by more than the float error ``eps`` is dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .deadline import Deadline
from .instance import Instance

NODE_CAP = 2_000_000
CHECK_EVERY = 4096  # nodes between two readings of the deadline (about 10 ms of work)


def approx_float(total: int, exponent: int) -> float:
    """``total * 2**exponent`` as a float, never overflowing on huge integers (rounded)."""
    bits = total.bit_length() if total >= 0 else (-total).bit_length()
    if bits > 1000:
        shift = bits - 60
        return math.ldexp(
            float(total >> shift if total >= 0 else -((-total) >> shift)), exponent + shift
        )
    try:
        return math.ldexp(float(total), exponent)
    except OverflowError:
        return math.inf if total > 0 else -math.inf


def branch_and_bound(
    inst: Instance,
    free: np.ndarray,
    keep: np.ndarray,
    fixed_choice: np.ndarray,
    lam: Sequence[float],
    floor: float,
    eps: float,
    deadline: Deadline,
    node_cap: int = NODE_CAP,
) -> tuple[np.ndarray | None, str]:
    """The best allocation of the ``free`` items (the others at ``fixed_choice``) worth more
    than ``floor - eps``; (None, "done") proves there is none. Status "time" or "capped" when
    the search was cut short (then the allocation, if any, is only the best found)."""
    n_limits = len(inst.bounds)
    free_list = [int(i) for i in free]
    fixed_mask = np.ones(inst.n_items, dtype=bool)
    fixed_mask[free] = False
    base = np.where(fixed_mask, fixed_choice, inst.lowest)
    totals = inst.totals(base)
    rows = [m.tolist() for m in inst.ints]
    for r in range(n_limits):
        for i in free_list:
            totals[r] -= rows[r][i][int(inst.lowest[i])]
    caps = [inst.thresholds[r] - totals[r] for r in range(n_limits)]  # room for the free items
    exps = [b.exact.exponent for b in inst.bounds]
    fixed_value = math.fsum(
        inst.values[np.flatnonzero(fixed_mask), fixed_choice[fixed_mask]].tolist()
    )
    values = inst.values.tolist()
    reduced_rows = inst.values - sum(lam[r] * inst.rows[r] for r in range(n_limits))
    options: list[list[int]] = []
    best_reduced: list[float] = []
    spreads: list[float] = []
    for i in free_list:
        opts = [j for j in np.flatnonzero(keep[i]).tolist()]
        opts.sort(key=lambda j: (-reduced_rows[i, j], j))
        options.append(opts)
        red = [reduced_rows[i, j] for j in opts]
        best_reduced.append(max(red))
        spreads.append(max(red) - min(red))
    order = sorted(range(len(free_list)), key=lambda t: -spreads[t])
    items = [free_list[t] for t in order]
    options = [options[t] for t in order]
    best_reduced = [best_reduced[t] for t in order]
    depth = len(items)
    rest = [0.0] * (depth + 1)
    for t in range(depth - 1, -1, -1):
        rest[t] = rest[t + 1] + best_reduced[t]
    least = [[0] * (depth + 1) for _ in range(n_limits)]
    for r in range(n_limits):
        for t in range(depth - 1, -1, -1):
            i = items[t]
            least[r][t] = least[r][t + 1] + min(rows[r][i][j] for j in options[t])
    if any(least[r][0] > caps[r] for r in range(n_limits)):
        return None, "done"

    best_value = floor - fixed_value
    best_path: list[int] | None = None
    path = [0] * depth
    used = [0] * n_limits
    nodes = 0
    status = "done"
    # iterative DFS: stack of (t, option position) with the running sums kept in place
    positions = [0] * (depth + 1)
    value_at = [0.0] * (depth + 1)
    t = 0
    while t >= 0:
        if t == depth:
            if value_at[t] > best_value or (best_path is None and value_at[t] >= best_value - eps):
                best_value = value_at[t]
                best_path = list(path)
            t -= 1
            if t >= 0:
                j = path[t]
                for r in range(n_limits):
                    used[r] -= rows[r][items[t]][j]
            continue
        if positions[t] >= len(options[t]):
            positions[t] = 0
            t -= 1
            if t >= 0:
                j = path[t]
                for r in range(n_limits):
                    used[r] -= rows[r][items[t]][j]
            continue
        nodes += 1
        if nodes % CHECK_EVERY == 0:
            if deadline.passed():
                status = "time"
                break
            if nodes > node_cap:
                status = "capped"
                break
        i = items[t]
        j = options[t][positions[t]]
        positions[t] += 1
        fits = True
        for r in range(n_limits):
            if used[r] + rows[r][i][j] + least[r][t + 1] > caps[r]:
                fits = False
                break
        if not fits:
            continue
        value = value_at[t] + values[i][j]
        slack = 0.0
        for r in range(n_limits):
            if lam[r] > 0:
                room = caps[r] - used[r] - rows[r][i][j]
                slack += lam[r] * approx_float(room, exps[r])
        if value + rest[t + 1] + slack < best_value - eps:
            continue
        for r in range(n_limits):
            used[r] += rows[r][i][j]
        path[t] = j
        value_at[t + 1] = value
        t += 1
    if best_path is None:
        return None, status
    out = fixed_choice.copy()
    for t, i in enumerate(items):
        out[i] = best_path[t]
    return (out if inst.fits(out) else None), status
