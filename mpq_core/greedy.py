"""The reference "bang for buck" greedy, run in O(n log n) with a heap.

Every layer starts at its lowest allowed width. Each round, among every layer's next allowed
upgrade that still fits the remaining budget, apply the one with the highest gain / cost
increase (a zero-cost upgrade is infinitely efficient; ties go to the layer earliest in file
order); stop when nothing fits.

Why a heap gives the same answer as the literal O(rounds x layers) scan: the remaining budget
only shrinks, so an upgrade that does not fit now never fits later, and a layer's next upgrade
changes only when that layer is upgraded. Popping candidates in (ratio desc, layer asc) order
and discarding the ones that do not fit therefore applies exactly the scan's choices, in the
same order, with the same running cost.
"""

from __future__ import annotations

import heapq

import numpy as np

from .problem import Problem
from .solution import Solution, infeasible_solution


def next_allowed(allowed: np.ndarray) -> np.ndarray:
    """(n, k) index of the next allowed option above each option, -1 at the top."""
    n, k = allowed.shape
    out = np.full((n, k), -1, dtype=np.intp)
    for j in range(k - 2, -1, -1):
        out[:, j] = np.where(allowed[:, j + 1], j + 1, out[:, j + 1])
    return out


def upgrade_table(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For each (layer, option): next option, its cost increase, its gain and gain/increase."""
    nxt = next_allowed(problem.allowed)
    n, k = nxt.shape
    current = np.broadcast_to(np.arange(k), (n, k))
    target = np.where(nxt >= 0, nxt, current)
    rows = np.arange(n)[:, None]
    delta = problem.costs[rows, target] - problem.costs
    adjacent = target == current + 1
    gain = np.where(
        adjacent, problem.step_gains[rows, target], problem.values[rows, target] - problem.values
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(delta > 0, gain / np.where(delta > 0, delta, 1.0), np.inf)
    return nxt, delta, gain, ratio


def solve_greedy(problem: Problem, *, budget: float, multiplier: float | None = None) -> Solution:
    """Greedy allocation within ``budget`` BOPs, with the order of its upgrades recorded."""
    if multiplier is None:
        multiplier = budget / problem.max_cost if problem.max_cost > 0 else 0.0
    if problem.min_cost > budget:
        return infeasible_solution(problem, "greedy", multiplier, budget)

    nxt_a, delta_a, _, ratio_a = upgrade_table(problem)
    nxt, delta, ratio = nxt_a.tolist(), delta_a.tolist(), ratio_a.tolist()
    state = problem.lowest.tolist()
    heap = [(-ratio[i][j], i) for i, j in enumerate(state) if nxt[i][j] >= 0]
    heapq.heapify(heap)

    cost = problem.min_cost
    layers: list[int] = []
    options: list[int] = []
    trace: list[float] = []
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        _, i = pop(heap)
        j = state[i]
        if cost + delta[i][j] <= budget:
            cost = cost + delta[i][j]
            j = nxt[i][j]
            state[i] = j
            layers.append(i)
            options.append(j)
            trace.append(cost)
            if nxt[i][j] >= 0:
                push(heap, (-ratio[i][j], i))

    choice = np.asarray(state, dtype=np.intp)
    return Solution(
        problem=problem,
        solver="greedy",
        status="feasible",
        multiplier=multiplier,
        budget=budget,
        choice=choice,
        cost=problem.cost_of(choice),
        objective=problem.objective_of(choice),
        message=f"{len(layers)} upgrades applied",
        upgrade_layers=np.asarray(layers, dtype=np.intp),
        upgrade_options=np.asarray(options, dtype=np.intp),
        upgrade_costs=np.asarray(trace, dtype=np.float64),
    )
