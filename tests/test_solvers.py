"""Greedy and exact solvers: hand-solved instances, a literal reference, brute force."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from factory import make_problem
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_greedy import reference_greedy

from mpq_core import SOLVERS, ExactSolver, InputError, Limit, solve, solve_exact, solve_greedy


def brute_force(problem, budget):
    best = -math.inf
    choices = [np.flatnonzero(row) for row in problem.allowed]
    for combo in itertools.product(*choices):
        choice = np.array(combo)
        if problem.cost_of(choice) <= budget:
            best = max(best, problem.objective_of(choice))
    return best


# Two layers, ladder 4/8/16, abit = min(w + 4, 16): cost factors 32, 96, 256.
#   a: MACs 1, s = 1 -> costs 32/96/256;  4->8: +64 gains 1   (1/64);  8->16: +160 gains 0.2
#   b: MACs 2, s = 3 -> costs 64/192/512; 4->8: +128 gains 3 (3/128); 8->16: +320 gains 0.6
# max cost 768, min cost 96. Multiplier 0.5 -> budget 384.
# Greedy: b 4->8 (cost 224), a 4->8 (288); b 8->16 (+320) and a 8->16 (+160) no longer fit.
# Result a=8, b=8, cost 288, objective 4, utilization 0.75.
# LP bound: increments by slope b1, a1, b2 (fraction (288-192)/320 = 0.3) -> 4 + 0.3 x 0.6 = 4.18.
def hand_problem(**kw):
    return make_problem([1, 2], [1.0, 3.0], names=["a", "b"], **kw)


def test_hand_solved_greedy():
    p = hand_problem()
    assert (p.min_cost, p.max_cost) == (96.0, 768.0)
    s = solve(p, 0.5)
    assert s.wbits.tolist() == [8, 8]
    assert s.abits.tolist() == [12, 12]
    assert (s.cost, s.budget, s.objective, s.utilization) == (288.0, 384.0, 4.0, 0.75)
    assert s.upgrade_layers.tolist() == [1, 0]
    assert s.upgrade_costs.tolist() == [224.0, 288.0]
    assert s.num_upgrades == 2


def test_hand_solved_exact_and_bound():
    s = solve(hand_problem(), 0.5, "exact")
    assert s.status == "optimal"
    assert s.wbits.tolist() == [8, 8]
    assert s.objective == 4.0
    assert s.upper_bound == s.objective and s.gap == 0  # proven: the bound is the optimum
    assert s.lp_bound == pytest.approx(4.18)


# Greedy is not optimal here. a: MACs 1, s 1 (4->8: +64, ratio 1/64 = 0.0156);
# b: MACs 10, s 9 (4->8: +640, ratio 0.0141). min cost 32 + 320 = 352, budget 992 = 352 + 640.
# Greedy takes a 4->8 (416), then b 4->8 no longer fits (1056), a 8->16 fits (576): objective 1.2.
# Optimum: b 4->8 alone, cost exactly 992, objective 9.
def test_greedy_suboptimal_instance():
    p = make_problem([1, 10], [1.0, 9.0])
    g = solve_greedy(p, budget=992.0)
    e = solve_exact(p, budget=992.0)
    assert g.wbits.tolist() == [16, 4]
    assert g.objective == pytest.approx(1.2)
    assert e.wbits.tolist() == [4, 8]
    assert (e.cost, e.objective, e.status) == (992.0, 9.0, "optimal")


def test_ties_go_to_the_earliest_layer():
    # identical layers, room for one 4->8 upgrade only: the first in file order gets it
    p = make_problem([1, 1, 1], [0.5, 0.5, 0.5])
    s = solve_greedy(p, budget=3 * 32 + 64)
    assert s.wbits.tolist() == [8, 4, 4]


def test_zero_cost_upgrade_is_infinitely_efficient():
    # layer0 has no MACs: its upgrades cost nothing, so they come first even with gain 0
    p = make_problem([0, 1], [0.0, 1.0])
    s = solve_greedy(p, budget=32.0)  # exactly the minimum cost
    assert s.wbits.tolist() == [16, 4]
    assert s.upgrade_layers.tolist() == [0, 0]


def test_pins_count_in_cost_and_never_move():
    p = hand_problem(pins={"b": 16})
    assert p.min_cost == 32 + 512
    s = solve(p, 1.0)
    assert s.wbits.tolist() == [16, 16]
    low = solve(p, 0.75)  # budget 576; a at 8 would cost 96 + 512 = 608: a stays at 4
    assert low.wbits.tolist() == [4, 16]
    assert solve(p, 0.70).status == "infeasible"  # 537.6 < 544


def test_pin_to_a_set_skips_widths():
    # a may only be 4 or 16: its single upgrade 4->16 gains 1 + 0.2 for +224
    p = hand_problem(pins={"a": [4, 16]})
    s = solve(p, 1.0)
    assert s.wbits.tolist() == [16, 16]
    e = solve(p, 1.0, "exact")
    assert e.objective == pytest.approx(1.2 + 3.6)


def test_infeasible_is_a_result_with_the_smallest_multiplier():
    p = hand_problem()  # min 96 / max 768 = 0.125
    for name in SOLVERS:
        s = solve(p, 0.1, name)
        assert s.status == "infeasible" and not s.feasible
        assert s.shortfall == pytest.approx(96 - 76.8)
        assert s.min_multiplier == 0.125
        assert s.min_grid_multiplier == 0.13
        assert "smallest feasible multiplier is 0.125 (0.13 on the 0.01 grid)" in s.message
    assert solve(p, 0.13).feasible


def test_match_rule_and_discount():
    p = hand_problem(abit_rule="match", upgrade_discount=0.5)
    assert p.abits == (4, 8, 16)
    np.testing.assert_allclose(p.costs[0], [16, 64, 256])
    np.testing.assert_allclose(p.values[1], [0, 3, 4.5])


def test_bad_multiplier_and_solver():
    p = hand_problem()
    with pytest.raises(
        InputError, match=r"budget_multiplier: must be between 0.0 and 1.0, got 1.5"
    ):
        solve(p, 1.5)
    with pytest.raises(InputError, match=r"solver: unknown solver 'fast'"):
        solve(p, 0.5, "fast")


def test_solvers_share_one_signature():
    """Every registered solver: ``(problem, bounds, *, time_limit)``, with bounds resolved or
    as written; the keyword forms give the same answer."""
    import inspect

    from mpq_core.model.limits import bops_bound

    p = hand_problem()
    keyword = {"greedy": solve_greedy, "exact": solve_exact}
    for name, fn in SOLVERS.items():
        assert list(inspect.signature(fn).parameters) == ["problem", "bounds", "time_limit"]
        s = fn(p, (bops_bound(p, 384.0),), time_limit=5)
        assert s.budget == 384.0 and s.multiplier == 0.5
        written = fn(p, (Limit("bops", "0.5x"),))
        assert written.budget == 384.0 and written.wbits.tolist() == s.wbits.tolist()
        assert keyword[name](p, budget=384.0).wbits.tolist() == s.wbits.tolist()


instances = st.integers(min_value=1, max_value=9).flatmap(
    lambda n: st.tuples(
        st.lists(st.sampled_from([0, 1, 2, 3, 5, 8, 100, 1000]), min_size=n, max_size=n),
        st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0, 3.0]), min_size=n, max_size=n),
        st.dictionaries(
            st.integers(0, n - 1),
            st.sampled_from([(4,), (8,), (16,), (4, 16), (8, 16), (4, 8)]),
            max_size=2,
        ),
        st.floats(0.0, 1.0),
        st.sampled_from([0.2, 0.0, 1.0]),
    )
)


@settings(max_examples=300, deadline=None)
@given(instances)
def test_greedy_equals_literal_reference(instance):
    macs, scores, pins, multiplier, discount = instance
    p = make_problem(
        macs, scores, upgrade_discount=discount, pins={f"layer{i}": w for i, w in pins.items()}
    )
    budget = p.budget_for(multiplier)
    ref = reference_greedy(macs, scores, budget, discount=discount, pins=pins)
    s = solve_greedy(p, budget=budget, multiplier=multiplier)
    if ref is None:
        assert s.status == "infeasible"
        return
    widths, order = ref
    assert s.wbits.tolist() == widths
    assert list(zip(s.upgrade_layers.tolist(), s.wbits_after_upgrades(), strict=True)) == order
    assert s.cost <= budget


@settings(max_examples=200, deadline=None)
@given(instances)
def test_exact_equals_brute_force_and_beats_greedy(instance):
    macs, scores, pins, multiplier, discount = instance
    macs, scores = macs[:6], scores[:6]
    pins = {f"layer{i}": w for i, w in pins.items() if i < 6}
    p = make_problem(macs, scores, upgrade_discount=discount, pins=pins)
    budget = p.budget_for(multiplier)
    e = solve_exact(p, budget=budget)
    g = solve_greedy(p, budget=budget)
    if p.min_cost > budget:
        assert e.status == "infeasible"
        return
    assert e.status == "optimal"
    assert e.objective == pytest.approx(brute_force(p, budget), abs=1e-9)
    assert e.cost <= budget and p.cost_of(e.choice) == e.cost
    assert e.objective >= g.objective - 1e-9
    assert e.upper_bound >= e.objective - 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_random_medium_instances_cross_check(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(50, 400))
    macs = rng.integers(0, 10**7, n).tolist()
    scores = np.round(rng.random(n), 3).tolist()
    p = make_problem(macs, scores)
    exact = ExactSolver(p)
    for m in (0.15, 0.3, 0.5, 0.8):
        budget = p.budget_for(m)
        g = solve_greedy(p, budget=budget)
        e = exact.solve(budget, m)
        assert e.status == "optimal", e.message
        assert e.cost <= budget and g.cost <= budget
        assert g.objective <= e.objective + 1e-9 <= e.upper_bound + 2e-9
        lp, *_ = exact.lp_bound(budget)
        assert e.lp_bound == pytest.approx(lp)


def test_per_bit_exact_brute_force():
    sens = [{"2": 0.9, "4": 0.5, "8": 0.1}, {"2": 0.4, "4": 0.35, "8": 0.0}, {"2": 0.2, "4": 0.0}]
    p = make_problem([3, 5, 7], sens)
    assert p.widths == (2, 4, 8)
    for m in np.linspace(0, 1, 21):
        budget = p.budget_for(m)
        e = solve_exact(p, budget=budget)
        if e.feasible:
            assert e.objective == pytest.approx(brute_force(p, budget))


@pytest.mark.parametrize("seed", range(8))
def test_highs_fallback_matches_brute_force(monkeypatch, seed):
    """With the Pareto state cap at 1 every core goes to HiGHS: still the proven optimum."""
    import mpq_core.solving.exact as exact_module

    monkeypatch.setattr(exact_module, "_STATE_CAP", 1)
    rng = np.random.default_rng(100 + seed)
    p = make_problem(rng.integers(1, 1000, 7).tolist(), rng.random(7).round(3).tolist())
    used_highs = False
    for m in (0.2, 0.35, 0.5, 0.65):
        budget = p.budget_for(m)
        e = solve_exact(p, budget=budget)
        used_highs |= "HiGHS" in e.message
        assert e.status == "optimal"
        assert e.cost <= budget
        assert e.objective == pytest.approx(brute_force(p, budget), abs=1e-9)
    assert used_highs


@pytest.mark.parametrize("tiny", [1.0, 1e-300, 3e-305])
def test_highs_solves_gains_too_small_to_scale_by_a_float(tiny):
    """HiGHS's objective is the gains scaled to a total of about 1e6; for gains near the
    smallest floats 1e6 / their size overflowed (a hypothesis example: HiGHS refused the
    model). The scale is a power of two applied by ldexp: the same optimum at every size."""
    from mpq_core.model.limits import resolve_limits
    from mpq_core.solving.deadline import Deadline
    from mpq_core.solving.instance import make_instance
    from mpq_core.solving.milp import solve_core_milp

    rng = np.random.default_rng(5)
    losses = [{str(w): float(v) * tiny for w, v in zip((2, 4, 8), sorted(row)[::-1], strict=True)}
              for row in rng.random((6, 3))]  # fmt: skip
    p = make_problem(rng.integers(1, 100, 6).tolist(), losses, params=[10.0] * 6)
    bounds = tuple(resolve_limits(p, [Limit("bops", "0.4x"), Limit("mean_wbits", "5")]))
    inst = make_instance(p, bounds)
    outcome = solve_core_milp(inst, inst.allowed, Deadline.after(30))
    best = max(
        p.objective_of(np.array(c))
        for c in itertools.product(range(3), repeat=6)
        if all(b.fits(np.array(c)) for b in bounds)
    )
    assert outcome.proven and inst.fits(outcome.choice)
    assert outcome.value == pytest.approx(best, rel=1e-9, abs=0)
