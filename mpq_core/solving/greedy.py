"""The reference "bang for buck" greedy: a global sort when it can, a heap otherwise.

Every layer (every tie) starts at its lowest allowed width. Each round, among every layer's
next allowed upgrade that still fits, apply the one with the highest gain / cost increase
(a zero-cost upgrade is infinitely efficient; ties go to the layer earliest in file order);
stop when nothing fits. "Fits" is exact (``arithmetic.py``): the allocation's ``math.fsum``
cost is at most the budget, so the greedy is never over it.

Why a heap gives the same answer as the literal O(rounds x layers) scan: the remaining budget
only shrinks, so an upgrade that does not fit now never fits later, and a layer's next upgrade
changes only when that layer is upgraded. Popping candidates in (ratio desc, layer asc) order
and discarding the ones that do not fit therefore applies exactly the scan's choices, in the
same order.

Why a sort does too, when every layer's ratios do not rise along its ladder (always true for
scalar scores) and its uses of every limit do not fall: then a layer's later upgrades sort
after its earlier ones, so the order (ratio desc, layer asc, step asc) is the heap's pop
order. Up to the first upgrade that does not fit, every upgrade is applied (a prefix of exact
cumulative sums); after it, only upgrades no larger than the room left (of every limit) can
apply, each if its layer is still at the step before it.

With several limits the rule is bang for buck on the tightest limit: an upgrade's price is
its largest share of any limit's room (the room from the starting allocation to the cap,
measured once), its ratio gain / price; it applies when it fits every limit.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..model.constraints import Limit
from ..model.limits import Bound, as_bounds, caps_beside_floors, meets_floors, resolve_limits
from ..model.problem import Problem
from .floors import raised_start
from .hull_greedy import hull_greedy_on
from .instance import Instance, make_instance
from .results import make_solution, start_failure
from .solution import Solution


def next_allowed(allowed: np.ndarray) -> np.ndarray:
    """(n, k) index of the next allowed option above each option, -1 at the top."""
    n, k = allowed.shape
    out = np.full((n, k), -1, dtype=np.intp)
    for j in range(k - 2, -1, -1):
        out[:, j] = np.where(allowed[:, j + 1], j + 1, out[:, j + 1])
    return out


def upgrade_table(
    inst: Instance, costs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each (item, option): next option, its cost increase, its gain and gain/increase."""
    nxt = next_allowed(inst.allowed)
    n, k = nxt.shape
    current = np.broadcast_to(np.arange(k), (n, k))
    target = np.where(nxt >= 0, nxt, current)
    rows = np.arange(n)[:, None]
    delta = costs[rows, target] - costs
    adjacent = target == current + 1
    gain = np.where(
        adjacent, inst.step_gains[rows, target], inst.values[rows, target] - inst.values
    )
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(delta > 0, gain / np.where(delta > 0, delta, 1.0), np.inf)
    return nxt, delta, gain, ratio


def solve_greedy(
    problem: Problem,
    *,
    budget: float | None = None,
    multiplier: float | None = None,
    limits=None,
    time_limit: float | None = None,
) -> Solution:
    """Greedy allocation within the limits (or a BOPs ``budget``), its upgrades recorded
    (the keyword form of :func:`greedy_solver`)."""
    bounds = as_bounds(problem, budget, multiplier, limits)
    return greedy_solver(problem, bounds, time_limit=time_limit)


def greedy_solver(
    problem: Problem, bounds: Sequence[Bound | Limit], *, time_limit: float | None = None
) -> Solution:
    """The registry's form (``solvers.Solver``): the greedy within ``bounds``."""
    del time_limit  # the greedy always finishes fast
    return greedy_on(make_instance(problem, resolve_limits(problem, bounds)))


def greedy_on(inst: Instance) -> Solution:
    """The greedy's allocation. With caps and floors, first the walk under the caps alone:
    when its allocation meets the floors too (floors that do not bind), that is the answer;
    otherwise the walk from the start raised to meet the floors (``floors.py``)."""
    caps = caps_beside_floors(inst.bounds)
    if caps is None:
        return _walk_from_start(inst)
    plain = _walk_from_start(make_instance(inst.problem, caps))
    if plain.feasible and meets_floors(inst.bounds, plain.choice):
        return replace(plain, bounds=inst.bounds)
    return _walk_from_start(inst)


def _walk_from_start(inst: Instance) -> Solution:
    if inst.problem.formats is not None:  # no ladder to walk: the greedy of formats
        return hull_greedy_on(inst)
    start, raised = raised_start(inst, inst.lowest)
    failed = start_failure(inst, start, "its lowest allowed width" + raised)
    if failed is not None:
        return failed
    plan = None if raised or len(inst.bounds) > 1 else _plan_for(inst)
    if plan is not None:
        choice, layers_a, options_a, trace = _planned(inst, plan)
        return _greedy_solution(inst, choice, layers_a, options_a, trace)
    if len(inst.bounds) == 1:
        nxt, delta, _, ratio = upgrade_table(inst, inst.rows[0])
    else:
        nxt, ratio = _multi_ratio(inst, start)
        delta = None
    entries = _entries(inst, nxt, ratio, delta)
    if entries.sortable and not raised:
        state, layers, options = _sorted_greedy(inst, entries)
    else:
        state, layers, options = _heap_greedy(inst, start, nxt, ratio)
    choice = np.asarray(state, dtype=np.intp)
    trace = _bops_trace(inst, start, layers, options)
    return _greedy_solution(inst, choice, layers, options, trace)


def _greedy_solution(
    inst: Instance, choice: np.ndarray, layers, options, trace: np.ndarray
) -> Solution:
    layer_ids, option_ids = _as_layers(inst, layers, options)
    return make_solution(
        inst,
        "greedy",
        "feasible",
        choice,
        f"{len(layer_ids)} upgrades applied",
        upgrade_layers=layer_ids,
        upgrade_options=option_ids,
        upgrade_costs=trace,
    )


@dataclass(frozen=True, eq=False)
class _Plan:
    """The sorted greedy's order for one limit's uses, whatever its cap: every upgrade sorted
    (ratio desc, item asc, step asc), its exact use increase and their running sum, and the
    BOPs trace of applying them all (``_bops_trace``'s sums, a prefix of which any cap
    keeps). A sweep of that limit's cap walks this plan instead of sorting again."""

    item: np.ndarray
    step: np.ndarray
    to: np.ndarray
    delta: np.ndarray  # int64
    running: np.ndarray  # int64, cumulative ``delta``
    cost_delta: np.ndarray  # float BOPs increase of each upgrade
    trace: np.ndarray  # BOPs after each upgrade when every one applies


_PLANS_KEPT = 4  # per problem: one per limit resource swept, a few at once


def _plan_for(inst: Instance) -> _Plan | None:
    """The plan of the one limit's uses (made once per problem and uses array: the bounds of a
    sweep share it); None when the sort does not hold or a sum could overflow int64."""
    ints = inst.ints[0]
    plans = inst.problem.__dict__.setdefault("_greedy_plans", {})
    found = plans.get(id(ints))
    if found is not None and found[0] is ints:
        return found[1]
    nxt, delta, _, ratio = upgrade_table(inst, inst.rows[0])
    entries = _entries(inst, nxt, ratio, delta)
    plan = _make_plan(inst, entries) if entries.sortable else None
    while len(plans) >= _PLANS_KEPT:
        plans.pop(next(iter(plans)))
    plans[id(ints)] = (ints, plan)  # the array is kept: its id is not reused while cached
    return plan


def _make_plan(inst: Instance, e: _Entries) -> _Plan | None:
    (deltas,) = e.deltas
    if deltas.dtype != np.int64 or (deltas.size and int(np.abs(deltas).sum()) >= (1 << 62)):
        return None
    order = np.lexsort((e.step, e.item, -e.ratio))
    item, step, to, delta = e.item[order], e.step[order], e.to[order], deltas[order]
    # each upgrade starts where the item's one step before it ended (or at its lowest)
    frm = np.where(step == 0, inst.lowest[item], 0)
    later = np.flatnonzero(step > 0)
    if later.size:
        by_chain = np.lexsort((step, item))
        position = np.empty_like(by_chain)
        position[by_chain] = np.arange(by_chain.size)
        frm[later] = to[by_chain[position[later] - 1]]
    costs = _item_costs(inst)
    cost_delta = costs[item, to] - costs[item, frm]
    base = inst.problem.cost_of(inst.expand(inst.lowest))
    trace = np.cumsum(np.concatenate([[base], cost_delta]))
    return _Plan(item, step, to, delta, np.cumsum(delta), cost_delta, trace)


def _planned(inst: Instance, plan: _Plan) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_sorted_greedy` on a plan: (choice, upgraded items, their options, BOPs trace),
    the same upgrades in the same order, the same sums."""
    room = inst.thresholds[0] - inst.totals(inst.lowest)[0]
    n = plan.item.size
    first_fail = int(np.searchsorted(plan.running, room, side="right")) if room < (1 << 62) else n
    room -= int(plan.running[first_fail - 1]) if first_fail else 0
    state = inst.lowest.copy()
    np.maximum.at(state, plan.item[:first_fail], plan.to[:first_fail])
    tail: list[int] = []
    if first_fail < n:
        steps_done = np.bincount(plan.item[:first_fail], minlength=inst.n_items)
        delta = plan.delta
        for p in (first_fail + 1 + np.flatnonzero(delta[first_fail + 1 :] <= room)).tolist():
            i = int(plan.item[p])
            if steps_done[i] == plan.step[p] and delta[p] <= room:
                room -= int(delta[p])
                state[i] = plan.to[p]
                steps_done[i] += 1
                tail.append(p)
    picked = np.asarray(tail, dtype=np.intp)
    items = np.concatenate([plan.item[:first_fail], plan.item[picked]])
    options = np.concatenate([plan.to[:first_fail], plan.to[picked]])
    trace = plan.trace[1 : first_fail + 1]
    if tail:
        more = np.cumsum(np.concatenate([plan.trace[first_fail : first_fail + 1],
                                         plan.cost_delta[picked]]))[1:]  # fmt: skip
        trace = np.concatenate([trace, more])
    return state, items, options, trace


def _item_costs(inst: Instance) -> np.ndarray:
    """(m, k) BOPs of each item at each option (a tie's layers summed)."""
    costs = inst.problem.costs
    if inst.layer_item is None:
        return costs
    item_costs = np.zeros((inst.n_items, costs.shape[1]))
    np.add.at(item_costs, inst.layer_item, costs)
    return item_costs


def _heap_greedy(
    inst: Instance, start: np.ndarray, nxt_a: np.ndarray, ratio_a: np.ndarray
) -> tuple[list[int], list[int], list[int]]:
    nxt, ratio, ints = nxt_a.tolist(), ratio_a.tolist(), inst.ints
    state = start.tolist()
    totals = inst.totals(start)
    rooms = [cap - total for cap, total in zip(inst.thresholds, totals, strict=True)]
    # each option's integer use increase to its next allowed option, per limit
    m, k = nxt_a.shape
    target = np.where(nxt_a >= 0, nxt_a, np.arange(k)[None, :])
    rows_idx = np.arange(m)[:, None]
    deltas = [(u[rows_idx, target] - u).tolist() for u in ints]
    heap = [(-ratio[i][j], i) for i, j in enumerate(state) if nxt[i][j] >= 0]
    heapq.heapify(heap)
    layers: list[int] = []
    options: list[int] = []
    pop, push = heapq.heappop, heapq.heappush
    if len(deltas) == 1:
        (d0,), (room0,) = deltas, rooms
        while heap:
            _, i = pop(heap)
            j = state[i]
            d = d0[i][j]
            if d <= room0:
                room0 -= d
                to = state[i] = nxt[i][j]
                layers.append(i)
                options.append(to)
                if nxt[i][to] >= 0:
                    push(heap, (-ratio[i][to], i))
        return state, layers, options
    while heap:
        _, i = pop(heap)
        j = state[i]
        for r, d in enumerate(deltas):
            if d[i][j] > rooms[r]:
                break
        else:
            for r, d in enumerate(deltas):
                rooms[r] -= d[i][j]
            to = state[i] = nxt[i][j]
            layers.append(i)
            options.append(to)
            if nxt[i][to] >= 0:
                push(heap, (-ratio[i][to], i))
    return state, layers, options


@dataclass(frozen=True, eq=False)
class _Entries:
    """Every upgrade along every item's chain of allowed options, flattened."""

    item: np.ndarray
    step: np.ndarray  # position along the item's chain (0: from its lowest option)
    to: np.ndarray
    ratio: np.ndarray
    deltas: tuple[np.ndarray, ...]  # per limit: exact integer use increase (int64 or object)
    sortable: bool  # ratios never rise and uses never fall along any chain


def _entries(
    inst: Instance, nxt: np.ndarray, ratio: np.ndarray, delta: np.ndarray | None
) -> _Entries:
    """The chain entries; ``delta`` (the float cost increases of a single limit) must not be
    negative either for the sort to hold (the ratio divides by it)."""
    m = inst.n_items
    rows = np.arange(m)
    cur = inst.lowest.copy()
    alive = np.ones(m, dtype=bool)
    previous = np.full(m, np.inf)
    parts: list[tuple[np.ndarray, ...]] = []
    sortable = True
    for step in range(nxt.shape[1] - 1):
        to = nxt[rows, cur]
        valid = alive & (to >= 0)
        if not valid.any():
            break
        idx = rows[valid]
        frm, dst = cur[valid], to[valid]
        r = ratio[idx, frm]
        d_ints = tuple(ints[idx, dst] - ints[idx, frm] for ints in inst.ints)
        if sortable:
            rises = (r > previous[idx]).any()
            negative = any(
                (d < 0).any() if d.dtype == np.int64 else any(v < 0 for v in d.tolist())
                for d in d_ints
            )
            falls = negative or (delta is not None and (delta[idx, frm] < 0).any())
            sortable = not (rises or falls)
        previous[idx] = r
        parts.append((idx, np.full(idx.size, step), dst, r, *d_ints))
        cur = np.where(valid, to, cur)
        alive = valid
    if not parts:
        empty = np.zeros(0, dtype=np.intp)
        none = tuple(np.zeros(0, dtype=ints.dtype) for ints in inst.ints)
        return _Entries(empty, empty, empty, np.zeros(0), none, True)
    columns = [np.concatenate([p[c] for p in parts]) for c in range(4 + len(inst.ints))]
    return _Entries(*columns[:4], tuple(columns[4:]), sortable)


def _sorted_greedy(inst: Instance, e: _Entries) -> tuple[list[int], list[int], list[int]]:
    """The heap's choices, from one global sort (see the module docstring)."""
    order = np.lexsort((e.step, e.item, -e.ratio))
    item, step, to = e.item[order], e.step[order], e.to[order]
    deltas = [d[order] for d in e.deltas]
    rooms = [
        cap - total for cap, total in zip(inst.thresholds, inst.totals(inst.lowest), strict=True)
    ]
    first_fail, rooms = _prefix_end(deltas, rooms, len(item))
    state_a = inst.lowest.copy()
    np.maximum.at(state_a, item[:first_fail], to[:first_fail])  # options rise along a chain
    state = state_a.tolist()
    steps_done = np.bincount(item[:first_fail], minlength=inst.n_items).tolist()
    layers, options = item[:first_fail].tolist(), to[:first_fail].tolist()
    if first_fail < len(item):
        lists = [d.tolist() for d in deltas]
        for p in _tail_candidates(deltas, rooms, first_fail, len(item)):
            i = int(item[p])
            if steps_done[i] != step[p]:
                continue
            if all(d[p] <= room for d, room in zip(lists, rooms, strict=True)):
                rooms = [room - d[p] for d, room in zip(lists, rooms, strict=True)]
                state[i] = int(to[p])
                steps_done[i] += 1
                layers.append(i)
                options.append(state[i])
    return state, layers, options


def _prefix_end(deltas: list[np.ndarray], rooms: list[int], n: int) -> tuple[int, list[int]]:
    """The prefix: in sorted order every upgrade applies until the first that does not fit
    some limit. (That upgrade's position, ``n`` when all fit; each limit's room left after
    the prefix), exact integers."""
    first_fail = n
    used = []
    for delta, room in zip(deltas, rooms, strict=True):
        running, fail = _running_use(delta, room, n)
        first_fail = min(first_fail, fail)
        used.append(running)
    spent = [int(run[first_fail - 1]) if first_fail else 0 for run in used]
    return first_fail, [room - s for room, s in zip(rooms, spent, strict=True)]


def _running_use(delta: np.ndarray, room: int, n: int) -> tuple[np.ndarray, int]:
    """(the cumulative use of the sorted upgrades of one limit, the position of the first
    over ``room``, ``n`` when none is); int64 when no sum can overflow, else Python ints."""
    if delta.dtype == np.int64 and 0 <= room < (1 << 62):
        running = np.cumsum(delta)
        return running, int(np.searchsorted(running, room, side="right"))
    running = np.asarray(list(itertools.accumulate(delta.tolist())), dtype=object)
    over = [p for p, total in enumerate(running.tolist()) if total > room]
    return running, (over[0] if over else n)


def _tail_candidates(
    deltas: list[np.ndarray], rooms: list[int], first_fail: int, n: int
) -> list[int]:
    """After the first upgrade that does not fit, only upgrades no larger than the room left
    of every limit can apply: their positions, in sorted order."""
    tail = np.arange(first_fail + 1, n)
    keep = np.ones(len(tail), dtype=bool)
    for delta, room in zip(deltas, rooms, strict=True):
        part = delta[first_fail + 1 :]
        keep &= (
            (part <= room)
            if part.dtype == np.int64
            else np.asarray([v <= room for v in part.tolist()], dtype=bool)
        )
    return tail[keep].tolist()


def _multi_ratio(inst: Instance, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Next option and gain / price, the price being an upgrade's largest share of a room."""
    nxt, _, gain, _ = upgrade_table(inst, inst.rows[0])
    m, k = nxt.shape
    rows = np.arange(m)[:, None]
    target = np.where(nxt >= 0, nxt, np.arange(k)[None, :])
    price = np.zeros((m, k))
    for cap, use in zip(inst.caps, inst.rows, strict=True):
        start_use = math.fsum(use[np.arange(m), start].tolist())
        room = cap - start_use
        delta = use[rows, target] - use
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            share = np.where(delta > 0, delta / room if room > 0 else np.inf, 0.0)
        price = np.maximum(price, share)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(price > 0, gain / np.where(price > 0, price, 1.0), np.inf)
    return nxt, ratio


def _bops_trace(
    inst: Instance, start: np.ndarray, layers: list[int], options: list[int]
) -> np.ndarray:
    """BOPs after each upgrade, accumulated as the original loop did (for the progress lines)."""
    problem = inst.problem
    if not layers:
        return np.zeros(0)
    item_costs = _item_costs(inst)
    items = np.asarray(layers, dtype=np.intp)
    targets = np.asarray(options, dtype=np.intp)
    # each upgrade starts from the item's previous upgrade (or its start): group by item
    order = np.argsort(items, kind="stable")
    before = np.empty_like(targets)
    sorted_items, sorted_targets = items[order], targets[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = sorted_items[1:] != sorted_items[:-1]
    previous = np.empty_like(sorted_targets)
    previous[1:] = sorted_targets[:-1]
    previous[first] = start[sorted_items[first]]
    before[order] = previous
    deltas = item_costs[items, targets] - item_costs[items, before]
    base = problem.cost_of(inst.expand(start))
    return np.cumsum(np.concatenate([[base], deltas]))[1:]


def _as_layers(
    inst: Instance, items: list[int], options: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Upgrades of items -> upgrades of layers (a tie's upgrade lists its first layer)."""
    if inst.layer_item is None:
        return np.asarray(items, dtype=np.intp), np.asarray(options, dtype=np.intp)
    first = np.zeros(inst.n_items, dtype=np.intp)
    first[inst.layer_item[::-1]] = np.arange(len(inst.layer_item))[::-1]
    return first[np.asarray(items, dtype=np.intp)], np.asarray(options, dtype=np.intp)
