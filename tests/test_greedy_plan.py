"""The greedy's plan (its sorted upgrades, made once per problem and limit): walked at any cap it
applies exactly what the literal loop applies, in the same order, with the same BOPs trace."""

from __future__ import annotations

import numpy as np
import pytest
from factory import make_problem
from reference_greedy import reference_greedy

import mpq_core as mc
from mpq_core.model.limits import as_bounds, resolve_limits
from mpq_core.solving import greedy
from mpq_core.solving.instance import make_instance


def _random_problem(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    macs = rng.integers(1, 50, n).astype(float) * 1e6
    macs[rng.random(n) < 0.2] = macs[0]  # equal costs: ties in the ratio order
    scores = rng.random(n).round(2)  # equal scores too
    return macs.tolist(), scores.tolist(), make_problem(macs.tolist(), scores.tolist())


@pytest.mark.parametrize("seed", range(6))
def test_the_plan_applies_what_the_sort_applies_at_every_cap(seed):
    """``_planned`` against the sort it replaces (``_sorted_greedy`` and ``_bops_trace``), at
    every multiplier of a sweep and at caps equal to the cost of an allocation on the way."""
    _, _, problem = _random_problem(seed)
    ms = [round(i / 20, 2) for i in range(21)]
    caps = [problem.budget_for(m) for m in ms]
    walk = mc.solve_greedy(problem, multiplier=0.6).upgrade_costs
    caps += [float(c) for c in walk[:: max(1, len(walk) // 7)]]  # a cap at an exact cost
    tails = 0
    for cap in caps:
        inst = make_instance(problem, resolve_limits(problem, as_bounds(problem, cap, None, None)))
        if inst.totals(inst.lowest)[0] > inst.thresholds[0]:
            continue  # infeasible: neither walks
        plan = greedy._plan_for(inst)
        assert plan is not None
        state, items, options, trace = greedy._planned(inst, plan)
        nxt, delta, _, ratio = greedy.upgrade_table(inst, inst.rows[0])
        entries = greedy._entries(inst, nxt, ratio, delta)
        want_state, want_items, want_options = greedy._sorted_greedy(inst, entries)
        assert state.tolist() == want_state
        assert items.tolist() == want_items
        assert options.tolist() == want_options
        want_trace = greedy._bops_trace(inst, inst.lowest, want_items, want_options)
        assert trace.tolist() == want_trace.tolist()  # the same sums, bit for bit
        room = inst.thresholds[0] - inst.totals(inst.lowest)[0]
        tails += items.size > int(np.searchsorted(plan.running, room, "right"))
    assert tails  # some cap applied upgrades after the first that did not fit


@pytest.mark.parametrize("seed", range(4))
def test_a_sweep_through_the_plan_matches_the_literal_loop(seed):
    macs, scores, problem = _random_problem(seed + 10)
    sweep = mc.solve_budgets(problem, [round(i / 10, 1) for i in range(11)])
    for solution in sweep.solutions["greedy"]:
        found = reference_greedy(macs, scores, solution.budget)
        if found is None:
            assert not solution.feasible
            continue
        widths, order = found
        assert solution.wbits.tolist() == widths
        got = [
            (int(i), problem.widths[j])
            for i, j in zip(solution.upgrade_layers, solution.upgrade_options, strict=True)
        ]
        assert got == order
