"""The greedy for formats: bang for buck over each layer's efficient options.

The reference greedy (``greedy.py``) walks a ladder upwards, one width at a time; formats have
no such order (a 4-bit format with 4-bit activations costs fewer BOPs than a 4-bit one with
16-bit activations, and more weight memory). This greedy prices an option by its *use*: the
sum over the limits of the option's share of that limit's cap. Each layer (each tie) starts at
its option of least use (the best value among equals); its efficient options are the upper
convex hull of value against use from there, and the hull's steps, with their gain / use
slope, are taken over all layers in decreasing slope (ties to the layer earliest in file
order). A step applies when the allocation still meets every limit exactly
(``arithmetic.py``); a step that does not fit ends its layer's walk. Steps of zero or negative
gain are never taken. What the limits still leave then goes to each layer's best upgrade that
fits on its own (on its hull or not), the largest gains first (``_fill``).

With one limit this is the classic greedy of the LP relaxation of the multiple-choice
knapsack (Sinha and Zoltners, 1979), rounded down: the exact solver starts from it, so the
exact objective is never below it, and the gap between them is shown as for the ladder's
greedy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .floors import raised_start
from .instance import Instance
from .results import make_solution, start_failure
from .solution import Solution


def hull_greedy_on(inst: Instance) -> Solution:
    use = _use(inst)
    start, raised = raised_start(inst, _start(inst, use))
    failed = start_failure(inst, start, "its option of least use" + raised)
    if failed is not None:
        return failed
    choice, items, tos, froms = _walk(inst, start, _hull_steps(inst, use, start))
    choice, items, tos, froms = _fill(inst, choice, (items, tos, froms))
    return make_solution(
        inst,
        "greedy",
        "feasible",
        choice,
        f"{len(items)} steps applied",
        upgrade_layers=_first_layers(inst, items),
        upgrade_options=tos,
        upgrade_costs=_cost_trace(inst, start, items, froms, tos),
    )


def _use(inst: Instance) -> np.ndarray:
    """(m, k) each option's use: the sum over the upper limits of its share of the limit's
    cap (over every limit when all are lower limits, mirrored)."""
    use = np.zeros(inst.values.shape)
    upper = [offset is None for offset in inst.offsets]
    for cap, row, counted in zip(inst.caps, inst.rows, upper, strict=True):
        if math.isinf(cap) or (any(upper) and not counted):
            continue
        scale = cap if cap > 0 else 1.0
        use += row / scale
    return use


def _start(inst: Instance, use: np.ndarray) -> np.ndarray:
    """Each item's allowed option of least use, the best value among equal uses."""
    masked = np.where(inst.allowed, use, np.inf)
    least = masked.min(axis=1, keepdims=True)
    candidates = inst.allowed & (masked == least)
    return np.argmax(np.where(candidates, inst.values, -np.inf), axis=1)


@dataclass(frozen=True)
class _Steps:
    """The hull steps of every item, in the order they are tried."""

    items: np.ndarray  # (s,) item of each step
    froms: np.ndarray  # (s,) option the step leaves
    tos: np.ndarray  # (s,) option the step takes


def _hull_steps(inst: Instance, use: np.ndarray, start: np.ndarray) -> _Steps:
    """Every item's upper-hull steps, by decreasing slope (ties: item, then its order)."""
    hull, size = _upper_hulls(use, inst.values, inst.allowed, start)
    m, width = hull.shape
    rank = np.broadcast_to(np.arange(width - 1), (m, width - 1))
    taken = rank < (size - 1)[:, None]
    items = np.broadcast_to(np.arange(m)[:, None], (m, width - 1))[taken]
    froms, tos = hull[:, :-1][taken], hull[:, 1:][taken]
    ranks = rank[taken]
    gain = inst.values[items, tos] - inst.values[items, froms]
    slope = gain / (use[items, tos] - use[items, froms])
    order = np.lexsort((ranks, items, -slope))
    return _Steps(items[order], froms[order], tos[order])


def _upper_hulls(
    use: np.ndarray, value: np.ndarray, allowed: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each item's options on the upper convex hull of (use, value) from ``start``, rising in
    both, as rows of a (m, k + 1) array with their count: the monotone chain, one column of
    every item at a time."""
    m, k = use.shape
    rows = np.arange(m)
    start_use = use[rows, start]
    above = np.where(allowed & (use > start_use[:, None]), use, np.inf)
    order = np.lexsort((-value, above), axis=-1)
    hull = np.zeros((m, k + 1), dtype=np.intp)
    hull[:, 0] = start
    size = np.ones(m, dtype=np.intp)
    for column in range(k):
        j = order[:, column]
        live = np.isfinite(above[rows, j]) & (value[rows, j] > value[rows, hull[rows, size - 1]])
        while True:
            a, b = hull[rows, np.maximum(size - 2, 0)], hull[rows, size - 1]
            left = (value[rows, b] - value[rows, a]) * (use[rows, j] - use[rows, a])
            right = (value[rows, j] - value[rows, a]) * (use[rows, b] - use[rows, a])
            pop = live & (size >= 2) & (left <= right)
            if not pop.any():
                break
            size -= pop
        hull[rows[live], size[live]] = j[live]
        size += live
    return hull, size


def _walk(inst: Instance, start: np.ndarray, steps: _Steps) -> tuple:
    """Apply the steps in order while they fit; a step that does not fit ends its item.

    Each step's change of every limit's exact sum is known beforehand (an item's steps are
    taken in order, or its walk ends), so up to the first step that does not fit the steps
    apply as a block (a prefix of exact cumulative sums); the rest are tried one by one."""
    deltas = [ints[steps.items, steps.tos] - ints[steps.items, steps.froms] for ints in inst.ints]
    totals = inst.totals(start)
    first = len(steps.items)
    for delta, total, cap in zip(deltas, totals, inst.thresholds, strict=True):
        over = np.flatnonzero(np.cumsum(delta) + total > cap)
        if over.size:
            first = min(first, int(over[0]))
    choice = start.copy()
    last = np.full(inst.n_items, -1)  # each item's last step in the block (its highest)
    np.maximum.at(last, steps.items[:first], np.arange(first))
    moved = np.flatnonzero(last >= 0)
    choice[moved] = steps.tos[last[moved]]
    totals = [t + sum(d[:first].tolist()) for t, d in zip(totals, deltas, strict=True)]
    applied = list(range(first))
    done = np.zeros(inst.n_items, dtype=bool)
    columns = [d[first:].tolist() for d in deltas]
    items, tos = steps.items[first:].tolist(), steps.tos[first:].tolist()
    caps = inst.thresholds
    for s, i in enumerate(items):
        if done[i]:
            continue
        new = [t + c[s] for t, c in zip(totals, columns, strict=True)]
        if all(t <= cap for t, cap in zip(new, caps, strict=True)):
            choice[i], totals = tos[s], new
            applied.append(first + s)
        else:
            done[i] = True
    kept = np.asarray(applied, dtype=np.intp)
    return choice, steps.items[kept], steps.tos[kept], steps.froms[kept]


def _fill(inst: Instance, choice: np.ndarray, walked: tuple) -> tuple:
    """After the walk, what the limits still leave: each item's upgrade of largest gain that
    fits on its own (any allowed option, on the hull or not), the largest gains first, each
    applied if it still fits. The walk's steps come first in the returned trace."""
    rows = np.arange(inst.n_items)
    gain = inst.values - inst.values[rows, choice][:, None]
    fits = inst.allowed & (gain > 0)
    totals = inst.totals(choice)
    for ints, total, cap in zip(inst.ints, totals, inst.thresholds, strict=True):
        fits &= (ints - ints[rows, choice][:, None]) <= (cap - total)
    best = np.argmax(np.where(fits, gain, -np.inf), axis=1)
    candidates = np.flatnonzero(fits[rows, best])
    order = candidates[np.lexsort((candidates, -gain[candidates, best[candidates]]))]
    filled = _apply_in_order(inst, order, best[order] if order.size else order, choice, totals)
    items, tos, walked_froms = walked
    froms = choice[filled]
    choice = choice.copy()
    choice[filled] = best[filled]
    return (
        choice,
        np.concatenate([items, filled]),
        np.concatenate([tos, best[filled]]),
        np.concatenate([walked_froms, froms]),
    )


def _apply_in_order(
    inst: Instance, order: np.ndarray, to: np.ndarray, choice: np.ndarray, totals: list[int]
) -> np.ndarray:
    """The items of ``order`` whose move to ``to`` is applied, in order, each while the limits
    still hold it: blocks of moves that fit together (exact cumulative sums), then the next
    move is dropped and those that no longer fit on their own with it."""
    applied = []
    while order.size:
        deltas = [ints[order, to] - ints[order, choice[order]] for ints in inst.ints]
        first = order.size
        for delta, total, cap in zip(deltas, totals, inst.thresholds, strict=True):
            over = np.flatnonzero(np.cumsum(delta) + total > cap)
            first = min(first, int(over[0])) if over.size else first
        applied.append(order[:first])
        totals = [t + sum(d[:first].tolist()) for t, d in zip(totals, deltas, strict=True)]
        keep = np.ones(order.size - first - 1, dtype=bool) if first < order.size else None
        if keep is None:
            break
        for delta, total, cap in zip(deltas, totals, inst.thresholds, strict=True):
            keep &= delta[first + 1 :] <= cap - total
        order, to = order[first + 1 :][keep], to[first + 1 :][keep]
    return np.concatenate(applied) if applied else np.zeros(0, dtype=np.intp)


def _first_layers(inst: Instance, items: np.ndarray) -> np.ndarray:
    """Steps of items -> steps of layers (a tie's step lists its first layer)."""
    if inst.layer_item is None:
        return np.asarray(items, dtype=np.intp)
    first = np.zeros(inst.n_items, dtype=np.intp)
    first[inst.layer_item[::-1]] = np.arange(len(inst.layer_item))[::-1]
    return first[np.asarray(items, dtype=np.intp)]


def _cost_trace(inst: Instance, start: np.ndarray, items, froms, tos) -> np.ndarray:
    """BOPs after each step (for the progress lines)."""
    costs = inst.problem.costs
    if inst.layer_item is not None:
        merged = np.zeros((inst.n_items, costs.shape[1]))
        np.add.at(merged, inst.layer_item, costs)
        costs = merged
    base = inst.problem.cost_of(inst.expand(start))
    return base + np.cumsum(costs[items, tos] - costs[items, froms])
