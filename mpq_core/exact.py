"""The proven optimum of the multiple-choice knapsack, with its LP-relaxation bound.

    maximise    sum_i values[i, x_i]
    subject to  sum_i costs[i, x_i] <= budget,   x_i in the allowed options of layer i

Method:
1. LP relaxation. Each layer's options are reduced to the upper convex hull of
   (cost, value); the LP optimum takes hull increments in decreasing slope order, the last
   one fractionally (at most one layer is fractional). Its value is the upper bound, and the
   slope of that critical increment is the multiplier lambda of the budget constraint.
2. An incumbent: the LP solution rounded down, then filled with later increments that fit.
3. Reduced-cost fixing. For any lambda >= 0, UB(lambda) = lambda * budget
   + sum_i max_j (v_ij - lambda c_ij) bounds every allocation, and one that puts layer i on
   option j is worth at most UB - (max_j' d_ij' - d_ij). Options whose bound falls below the
   incumbent cannot be in an optimum and are dropped; most layers keep a single option.
4. Core search. Only options within ``width`` of the bound are kept; the layers left with a
   choice are searched exactly by a Pareto-state enumeration (states are (cost, value) sums,
   dominated states and states whose Lagrangian bound is below the incumbent are dropped).
   If the core's best reaches UB - width, nothing outside the core can beat it: proven.
   Otherwise the width grows and the search repeats. Cores whose state count explodes go
   to HiGHS (scipy.optimize.milp, relative gap 0), whose answer is re-costed exactly (a
   tolerance overshoot is re-solved with a tightened budget), so the returned cost never
   exceeds the budget.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from .problem import Problem
from .solution import Solution, infeasible_solution

_VALUE_SCALE = 1e3  # objective coefficients of the core are rescaled to about this size
_REPAIR_TRIES = 3
_STATE_CAP = 200_000  # Pareto states per layer before the core goes to HiGHS instead


@dataclass(frozen=True, eq=False)
class _Hulls:
    base: np.ndarray  # (n,) cheapest hull option of each layer
    layer: np.ndarray  # (m,) increments sorted by slope, descending
    frm: np.ndarray
    to: np.ndarray
    dc: np.ndarray
    dv: np.ndarray
    slope: np.ndarray
    cum_dc: np.ndarray
    cum_dv: np.ndarray
    base_value: float
    base_cost: float


class ExactSolver:
    """Solves one problem at many budgets; the hull work is done once."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.hulls = _build_hulls(problem)

    def lp_bound(self, budget: float) -> tuple[float, float, int, float]:
        """(LP value, lambda, increments taken whole, fraction of the next one)."""
        h = self.hulls
        room = budget - h.base_cost
        taken = int(np.searchsorted(h.cum_dc, room, side="right"))
        value = h.base_value + (float(h.cum_dv[taken - 1]) if taken else 0.0)
        if taken < len(h.dc):
            done = float(h.cum_dc[taken - 1]) if taken else 0.0
            fraction = (room - done) / float(h.dc[taken])
            return value + fraction * float(h.dv[taken]), float(h.slope[taken]), taken, fraction
        return value, 0.0, taken, 0.0

    def solve(self, budget: float, multiplier: float | None = None) -> Solution:
        problem = self.problem
        if multiplier is None:
            multiplier = budget / problem.max_cost if problem.max_cost > 0 else 0.0
        if problem.min_cost > budget:
            return infeasible_solution(problem, "exact", multiplier, budget)

        lp_value, lam, taken, _ = self.lp_bound(budget)
        # Reduced values at the LP's lambda, computed once: d_ij = v_ij - lambda c_ij. The
        # Lagrangian bound equals the LP value up to rounding; proofs use the larger one.
        reduced = np.where(problem.allowed, problem.values - lam * problem.costs, -np.inf)
        best_reduced = reduced.max(axis=1)
        gaps = best_reduced[:, None] - reduced  # what choosing j costs layer i against the bound
        upper = max(lp_value, lam * budget + math.fsum(best_reduced.tolist()))
        choice = self._incumbent(budget, taken)
        best = problem.objective_of(choice)
        status, note = "feasible", "no core solution improved the LP-rounded incumbent"
        # Grow the core until its optimum clears the bound of everything left outside it.
        width = max((upper - best) / 16, 0.0)
        while True:
            full = width >= upper - best
            # Only a core allocation worth at least UB - width can end the search, so the
            # core search may prune everything below that (or below the incumbent).
            core_width = min(width, upper - best)
            floor = max(best, upper - core_width)
            found, proven, note_core = self._solve_core(
                budget, lam, gaps, best_reduced, core_width + _tolerance(upper), floor
            )
            if found is not None and problem.objective_of(found) >= best:
                choice, best = found, problem.objective_of(found)
            if not proven:
                status, note = "feasible", note_core
                break
            if full or best >= upper - width - _tolerance(upper):
                status, note = "optimal", note_core
                break
            width *= 4
        objective = problem.objective_of(choice)
        return Solution(
            problem=problem,
            solver="exact",
            status=status,
            multiplier=multiplier,
            budget=budget,
            choice=choice,
            cost=problem.cost_of(choice),
            objective=objective,
            message=note,
            upper_bound=max(lp_value, objective),
        )

    def _incumbent(self, budget: float, taken: int) -> np.ndarray:
        """LP solution rounded down, then later increments that still fit, in slope order."""
        h = self.hulls
        pos = h.base.copy()
        if taken:
            np.maximum.at(pos, h.layer[:taken], h.to[:taken])
        room = budget - self.problem.cost_of(pos)
        dc = h.dc
        if taken + 1 < len(dc):
            tail_min = np.minimum.accumulate(dc[::-1])[::-1]
            layer, frm, to = h.layer.tolist(), h.frm.tolist(), h.to.tolist()
            at = pos.tolist()
            for t in range(taken + 1, len(dc)):
                if room < tail_min[t]:
                    break
                i = layer[t]
                if at[i] == frm[t] and dc[t] <= room:
                    at[i] = to[t]
                    room -= dc[t]
            pos = np.asarray(at, dtype=np.intp)
        if self.problem.cost_of(pos) > budget:  # rounding in ``room``: never hand back an overshoot
            pos = self.problem.lowest.copy()
        return pos

    def _solve_core(
        self,
        budget: float,
        lam: float,
        gaps: np.ndarray,
        best_reduced: np.ndarray,
        width: float,
        floor: float,
    ) -> tuple[np.ndarray | None, bool, str]:
        """Best allocation using only options within ``width`` of the Lagrangian bound.

        Returns (allocation or None, whether it is proven optimal over that core, a note).
        """
        problem = self.problem
        n = problem.n_layers
        keep = problem.allowed & (gaps <= width)
        counts = keep.sum(axis=1)
        fixed_choice = np.argmax(keep, axis=1)
        free = np.flatnonzero(counts >= 2)
        if free.size == 0:
            if problem.cost_of(fixed_choice) <= budget:
                return fixed_choice, True, "optimal: every layer fixed by its reduced cost"
            return None, True, "no allocation within the core fits the budget"

        fixed_mask = np.ones(n, dtype=bool)
        fixed_mask[free] = False
        rows = np.arange(n)
        fixed_cost = math.fsum(problem.costs[rows[fixed_mask], fixed_choice[fixed_mask]].tolist())
        fixed_value = math.fsum(problem.values[rows[fixed_mask], fixed_choice[fixed_mask]].tolist())
        room = budget - fixed_cost
        found, capped = _pareto_search(
            problem, free, keep, room, lam, floor - fixed_value, best_reduced
        )
        if not capped and found is None:
            return None, True, "optimal: nothing within the core beats the incumbent"
        if found is not None:
            choice = fixed_choice.copy()
            choice[free] = found
            if problem.cost_of(choice) <= budget:
                return choice, True, f"optimal: {len(free)} of {n} layers searched after fixing"
        return self._milp_core(budget, keep, fixed_choice, free, room)

    def _milp_core(
        self,
        budget: float,
        keep: np.ndarray,
        fixed_choice: np.ndarray,
        free: np.ndarray,
        room: float,
    ) -> tuple[np.ndarray | None, bool, str]:
        problem = self.problem
        n = problem.n_layers
        var_layer, var_option = np.nonzero(keep[free])
        var_layer_global = free[var_layer]
        costs = problem.costs[var_layer_global, var_option]
        values = problem.values[var_layer_global, var_option]
        values = values - problem.values[var_layer_global, fixed_choice[var_layer_global]]
        value_scale = _VALUE_SCALE / max(float(np.abs(values).max()), 1e-300)
        cost_scale = max(float(costs.max()), 1.0)

        nvar = len(costs)
        eq = sparse.csr_array(
            (np.ones(nvar), (var_layer, np.arange(nvar))), shape=(len(free), nvar)
        )
        for attempt in range(_REPAIR_TRIES + 1):
            result = milp(
                -values * value_scale,
                integrality=np.ones(nvar),
                bounds=Bounds(0, 1),
                constraints=[
                    LinearConstraint(eq, 1, 1),
                    LinearConstraint(costs[None, :] / cost_scale, -np.inf, room / cost_scale),
                ],
                options={"mip_rel_gap": 0.0, "presolve": True},
            )
            if result.x is None:
                if result.status == 2:  # infeasible core: nothing in it fits
                    return None, True, "no allocation within the core fits the budget"
                return None, False, f"HiGHS found no core solution ({result.message})"
            picked = result.x > 0.5
            choice = fixed_choice.copy()
            choice[var_layer_global[picked]] = var_option[picked]
            over = problem.cost_of(choice) - budget
            if over <= 0:
                proven = result.status == 0 and attempt == 0
                note = (
                    f"optimal: {len(free)} of {n} layers solved by HiGHS after fixing"
                    if proven
                    else f"feasible: re-solved {attempt} time(s) with a budget tightened "
                    "for solver tolerance"
                )
                return choice, proven, note
            room -= over * (1 + 1e-9) + 1.0
        return None, False, "core solution stayed over budget after repair; kept incumbent"


def _pareto_search(
    problem: Problem,
    free: np.ndarray,
    keep: np.ndarray,
    room: float,
    lam: float,
    floor: float,
    best_reduced: np.ndarray,
) -> tuple[np.ndarray | None, bool]:
    """Exact best choice for the ``free`` layers within ``room``, and whether it hit the cap.

    (None, False): no allocation of these layers reaches ``floor``; (None, True): too many
    states, use another method.

    A state is a partial allocation's (cost, value). After each layer, states over the room,
    dominated states (costlier and worth no more) and states whose bound
    value + lam * (room - cost) + sum of the later layers' best reduced values
    is below ``floor`` (the incumbent's value on these layers) are dropped.
    """
    rest = np.concatenate([np.cumsum(best_reduced[free][::-1])[::-1][1:], [0.0]])
    tol = _tolerance(floor)
    cost = np.zeros(1)
    value = np.zeros(1)
    trail: list[tuple[np.ndarray, np.ndarray]] = []
    for t, i in enumerate(free.tolist()):
        options = np.flatnonzero(keep[i])
        c = (cost[None, :] + problem.costs[i, options][:, None]).ravel()
        v = (value[None, :] + problem.values[i, options][:, None]).ravel()
        parent = np.tile(np.arange(len(cost)), len(options))
        option = np.repeat(options, len(cost))
        ok = (c <= room) & (v + lam * (room - c) + rest[t] >= floor - tol)
        c, v, parent, option = c[ok], v[ok], parent[ok], option[ok]
        if len(c) == 0:
            return None, False
        order = np.lexsort((-v, c))
        c, v, parent, option = c[order], v[order], parent[order], option[order]
        undominated = np.ones(len(v), dtype=bool)
        undominated[1:] = v[1:] > np.maximum.accumulate(v)[:-1]
        cost, value = c[undominated], v[undominated]
        if len(cost) > _STATE_CAP:
            return None, True
        trail.append((parent[undominated], option[undominated]))
    state = int(np.argmax(value))
    out = np.empty(len(free), dtype=np.intp)
    for t in range(len(free) - 1, -1, -1):
        parent, option = trail[t]
        out[t] = option[state]
        state = int(parent[state])
    return out, False


def _tolerance(bound: float) -> float:
    return 1e-9 * max(1.0, abs(bound)) + 1e-12


def solve_exact(problem: Problem, *, budget: float, multiplier: float | None = None) -> Solution:
    """Proven-optimal allocation within ``budget`` BOPs, with the LP upper bound."""
    return ExactSolver(problem).solve(budget, multiplier)


def _build_hulls(problem: Problem) -> _Hulls:
    costs, values, allowed = problem.costs, problem.values, problem.allowed
    n, k = costs.shape
    base = np.zeros(n, dtype=np.intp)
    inc_layer: list[int] = []
    inc_from: list[int] = []
    inc_to: list[int] = []
    crows, vrows, arows = costs.tolist(), values.tolist(), allowed.tolist()
    for i in range(n):
        c, v, ok = crows[i], vrows[i], arows[i]
        stack: list[int] = []
        for j in range(k):
            if not ok[j]:
                continue
            if stack and v[j] <= v[stack[-1]]:
                continue  # costs at least as much, worth no more
            if stack and c[j] == c[stack[-1]]:
                stack.pop()  # same cost, worth more
            while len(stack) >= 2:
                a, b = stack[-2], stack[-1]
                if (v[b] - v[a]) * (c[j] - c[b]) <= (v[j] - v[b]) * (c[b] - c[a]):
                    stack.pop()
                else:
                    break
            stack.append(j)
        base[i] = stack[0]
        for a, b in itertools.pairwise(stack):
            inc_layer.append(i)
            inc_from.append(a)
            inc_to.append(b)
    layer = np.asarray(inc_layer, dtype=np.intp)
    frm = np.asarray(inc_from, dtype=np.intp)
    to = np.asarray(inc_to, dtype=np.intp)
    dc = costs[layer, to] - costs[layer, frm]
    dv = values[layer, to] - values[layer, frm]
    slope = dv / dc if len(dc) else np.zeros(0)
    order = np.lexsort((np.arange(len(dc)), -slope))
    layer, frm, to = layer[order], frm[order], to[order]
    dc, dv, slope = dc[order], dv[order], slope[order]
    rows = np.arange(n)
    return _Hulls(
        base=base,
        layer=layer,
        frm=frm,
        to=to,
        dc=dc,
        dv=dv,
        slope=slope,
        cum_dc=np.cumsum(dc),
        cum_dv=np.cumsum(dv),
        base_value=math.fsum(values[rows, base].tolist()),
        base_cost=math.fsum(costs[rows, base].tolist()),
    )
