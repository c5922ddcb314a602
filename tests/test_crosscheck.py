"""Adversarial cross-check of both solvers against an independent brute force.

Instances cover what broke before: ladders up to 2/3/4/5/6/8/16, scalar scores and per-bit
tables (losses and scores, non-monotone), MACs from 1e-9 to 1e12 and fractional, zero-MAC
layers, pins, both activation rules, ties, groups, and one to three limits (BOPs, weight
memory, mean weight bits, a table resource), with caps exactly at some allocation's value and
one float step either side. The brute force computes every figure itself from the raw lists
(costs MACs x (w x a), ``math.fsum`` sums, the mean as a float division) and checks:

- exact: "infeasible" exactly when nothing fits; otherwise proven optimal, within 1e-9 of the
  objective's scale of the brute optimum, its allocation fits every limit, its bound is not
  below the optimum;
- greedy: its allocation fits every limit and is never better than the optimum.

Beyond brute-force sizes, the exact solver is checked against an independent MILP whose
answer is re-verified exactly (``test_exact_matches_an_independent_milp``).
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import replace

import numpy as np
import pytest
from factory import make_problem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import sparse

from mpq_core import Limit, solve_exact, solve_greedy
from mpq_core.model.constraints import Constraints, Group
from mpq_core.model.limits import resolve_limits
from mpq_core.model.spec import Spec

LADDER_POOL = (2, 3, 4, 5, 6, 8, 16)
# MPQ_STRESS=10 runs ten times as many examples (a longer check than CI's)
EXAMPLES = 600 * int(os.environ.get("MPQ_STRESS", "1"))
MAC_KINDS = st.sampled_from(["int", "fraction", "tiny", "huge", "zero", "mixed"])


def _macs(draw, n: int) -> list[float]:
    kind = draw(MAC_KINDS)
    out = []
    for _ in range(n):
        k = (
            draw(st.sampled_from(["int", "fraction", "tiny", "huge", "zero"]))
            if kind == "mixed"
            else kind
        )
        if k == "int":
            out.append(float(draw(st.integers(1, 10**6))))
        elif k == "fraction":
            out.append(draw(st.floats(0.1, 100.0, allow_nan=False)))
        elif k == "tiny":
            out.append(draw(st.floats(1e-9, 1e-6, allow_nan=False)))
        elif k == "huge":
            out.append(draw(st.floats(1e9, 1e12, allow_nan=False)))
        else:
            out.append(0.0)
    return out


@st.composite
def instances(draw):
    n = draw(st.integers(1, 5))
    size = draw(st.integers(1, 4 if n > 3 else 7))
    ladder = tuple(
        sorted(
            draw(st.lists(st.sampled_from(LADDER_POOL), min_size=size, max_size=size, unique=True))
        )
    )
    names = [f"l{i}" for i in range(n)]
    macs = _macs(draw, n)
    params = [float(draw(st.integers(0, 5000))) for _ in range(n)]
    kind = draw(st.sampled_from(["scalar", "loss", "score"]))
    if kind == "scalar":
        sens = [draw(st.sampled_from([0.0, 1e-9, 0.1, 0.5, 1.0, 3.0, 1e5])) for _ in range(n)]
    else:
        sens = [
            {
                str(w): draw(st.floats(0.0 if kind == "loss" else -50.0, 100.0, allow_nan=False))
                for w in ladder
            }
            for _ in range(n)
        ]
    pins = {}
    for i in range(n):
        if draw(st.booleans()) and draw(st.booleans()):
            pins[names[i]] = tuple(
                sorted(set(draw(st.lists(st.sampled_from(ladder), min_size=1, max_size=2))))
            )
    ties = ()
    if n >= 2 and draw(st.booleans()):
        a, b = draw(st.lists(st.sampled_from(names), min_size=2, max_size=2, unique=True))
        ties = ((a, b),)
    groups = (Group("g", tuple(names[: max(1, n // 2)])),) if draw(st.booleans()) else ()
    rule = draw(st.sampled_from(["plus4", "match"]))
    latency = [{w: draw(st.floats(0.0, 10.0, allow_nan=False)) for w in ladder} for _ in range(n)]
    resources = draw(
        st.sampled_from(
            [
                ["bops"],
                ["bops", "wbits"],
                ["mean_wbits", "bops"],
                ["lat"],
                ["bops", "lat", "mean_wbits"],
            ]
        )
    )
    scoped = draw(st.booleans()) and bool(groups)
    offsets = [draw(st.sampled_from([-1, 0, 0, 1])) for _ in resources]
    return {
        "names": names, "macs": macs, "params": params, "ladder": ladder, "kind": kind,
        "sens": sens, "pins": pins, "ties": ties, "groups": groups, "rule": rule,
        "latency": latency, "resources": resources, "scoped": scoped, "offsets": offsets,
        "pick": draw(st.integers(0, 10**9)), "discount": draw(st.sampled_from([0.2, 0.0, 1.0])),
    }  # fmt: skip


# --- the independent reference -------------------------------------------------------------


def _values(inst) -> list[list[float]]:
    ladder = inst["ladder"]
    out = []
    for s in inst["sens"]:
        if inst["kind"] == "scalar":
            row, acc = [0.0], 0.0
            for j in range(1, len(ladder)):
                acc += s * inst["discount"] ** (j - 1)
                row.append(acc)
        elif inst["kind"] == "loss":
            row = [s[str(ladder[0])] - s[str(w)] for w in ladder]
        else:
            row = [s[str(w)] - s[str(ladder[0])] for w in ladder]
        out.append(row)
    return out


def _abit(w: int, rule: str) -> int:
    return min(w + 4, 16) if rule == "plus4" else w


def _allocations(inst):
    """Every allocation (option index per layer) that pins and ties allow."""
    ladder, names = inst["ladder"], inst["names"]
    options = [
        [j for j, w in enumerate(ladder) if w in inst["pins"].get(name, ladder)] for name in names
    ]
    for combo in itertools.product(*options):
        if all(combo[names.index(a)] == combo[names.index(b)] for a, b in inst["ties"]):
            yield combo


def _use(inst, resource: str, combo, scope) -> float:
    ladder = inst["ladder"]
    terms = []
    for i, j in enumerate(combo):
        if not scope[i]:
            continue
        w = ladder[j]
        if resource == "bops":
            terms.append(inst["macs"][i] * (w * _abit(w, inst["rule"])))
        elif resource in ("wbits", "mean_wbits"):
            terms.append(inst["params"][i] * w)
        else:
            terms.append(inst["latency"][i][w])
    total = math.fsum(terms)
    if resource == "mean_wbits":
        params = math.fsum(p for p, s in zip(inst["params"], scope, strict=True) if s)
        return total / params
    return total


def _problem(inst, limits=()):
    spec = Spec(
        ladder=inst["ladder"],
        abit_rule=inst["rule"],
        upgrade_discount=inst["discount"],
        pins=tuple(inst["pins"].items()),
        constraints=Constraints(groups=inst["groups"], ties=inst["ties"], limits=tuple(limits)),
    )
    sens = inst["sens"]
    return make_problem(
        inst["macs"], sens, names=inst["names"], params=inst["params"],
        higher_is_better=inst["kind"] == "score", spec=spec,
        resources={"lat": inst["latency"]},
    )  # fmt: skip


def _limits(inst, allocations):
    """Limits whose caps sit at (or one float step beside) a chosen allocation's use."""
    n = len(inst["names"])
    scope = [True] * n
    if inst["scoped"]:
        members = set(inst["groups"][0].patterns)
        scope = [name in members for name in inst["names"]]
    anchor = allocations[inst["pick"] % len(allocations)]
    out = []
    for r, resource in enumerate(inst["resources"]):
        group = inst["groups"][0].name if inst["scoped"] and r == 0 else None
        sc = scope if group else [True] * n
        if (
            resource == "mean_wbits"
            and math.fsum(p for p, s in zip(inst["params"], sc, strict=True) if s) <= 0
        ):
            resource = "bops"
        cap = _use(inst, resource, anchor, sc)
        step = inst["offsets"][r]
        if step:
            cap = math.nextafter(cap, math.inf if step > 0 else -math.inf)
        out.append((resource, group, max(cap, 0.0), sc))
    return out


def _fits(inst, combo, limits) -> bool:
    return all(_use(inst, res, combo, sc) <= cap for res, _, cap, sc in limits)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(instances())
def test_solvers_against_brute_force(inst):
    allocations = list(_allocations(inst))
    if not allocations:  # pins and ties leave nothing: the engine must say so
        with pytest.raises(Exception, match="share no allowed width"):
            _problem(inst)
        return
    limits = _limits(inst, allocations)
    values = _values(inst)
    feasible = [c for c in allocations if _fits(inst, c, limits)]
    best = max((math.fsum(values[i][j] for i, j in enumerate(c)) for c in feasible), default=None)

    written = [
        Limit(res, "0x" if res != "mean_wbits" else "0", group) for res, group, _, _ in limits
    ]
    problem = _problem(inst, written)
    bounds = []
    for bound, (_, _, cap, _) in zip(resolve_limits(problem, written), limits, strict=True):
        base = _base_cap(bound, cap)
        bounds.append(replace(bound, cap=base, threshold=bound.exact.threshold(base)))
    bounds = tuple(bounds)
    exact = solve_exact(problem, limits=bounds, time_limit=30)
    greedy = solve_greedy(problem, limits=bounds)
    scale = problem.value_scale
    tol = 1e-9 * scale + 1e-300
    if best is None:
        assert exact.status == "infeasible", exact.message
        assert greedy.status in ("infeasible", "unknown")
        return
    assert exact.status == "optimal", exact.message
    combo = tuple(int(j) for j in exact.choice)
    assert _fits(inst, combo, limits)
    assert exact.objective >= best - tol
    assert exact.upper_bound >= best - tol
    assert exact.upper_bound >= exact.objective
    if greedy.feasible:
        assert _fits(inst, tuple(int(j) for j in greedy.choice), limits)
        assert greedy.objective <= exact.objective + tol
        assert exact.objective >= greedy.objective  # the greedy is an incumbent of the exact


def _base_cap(bound, cap: float) -> float:
    """The cap on the engine's sum: mean_wbits caps the params x width sum (see limits.py)."""
    if bound.resource != "mean_wbits":
        return cap
    from mpq_core.model.limits import _mean_cap

    return _mean_cap(cap, bound.scale)


# --- the arithmetic of "fits" --------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0, 1e12, allow_nan=False), min_size=1, max_size=8), st.integers(0, 2))
def test_a_budget_equal_to_an_allocations_cost_fits(macs, rule_index):
    """Every layer at the top width fits m = 1.0, and any allocation fits its own cost."""
    p = make_problem(macs, [1.0] * len(macs), abit_rule=("plus4", "match", "plus4")[rule_index])
    top = solve_greedy(p, budget=p.budget_for(1.0))
    assert top.wbits.tolist() == [16] * len(macs)
    exact = solve_exact(p, budget=p.budget_for(1.0))
    assert exact.wbits.tolist() == [16] * len(macs) and exact.status == "optimal"
    rng = np.random.default_rng(len(macs))
    choice = rng.integers(0, 3, len(macs))
    cost = math.fsum(m * (w * min(w + 4, 16) if rule_index != 1 else w * w)
                     for m, w in zip(macs, np.array([4, 8, 16])[choice], strict=True))  # fmt: skip
    s = solve_exact(p, budget=cost)
    assert s.feasible and s.cost <= cost
    assert s.objective >= p.objective_of(choice) - 1e-9 * max(p.value_scale, 1e-300)


def test_the_reported_wrong_optimum_is_fixed():
    """Three layers with fractional MACs, budget = every layer at 16 bits: that is feasible."""
    p = make_problem(
        [3.909688191, 6.313647272, 6.001992043], [0.082, 0.633, 0.781], names=["L0", "L1", "L2"]
    )
    for solve in (solve_exact, solve_greedy):
        s = solve(p, budget=p.budget_for(1.0))
        assert s.wbits.tolist() == [16, 16, 16]
        assert s.objective == pytest.approx(1.7952)


def test_tiny_losses_are_not_rounded_away():
    """Objectives of 1e-9 are solved to the optimum, not to an absolute 1e-9 tolerance."""
    rng = np.random.default_rng(7)
    n = 12
    sens = [{"2": float(a), "4": float(b), "8": 0.0} for a, b in rng.random((n, 2)) * 1e-9]
    p = make_problem(rng.integers(1, 100, n).tolist(), sens)
    for m in (0.2, 0.35, 0.5):
        budget = p.budget_for(m)
        best = max(
            p.objective_of(np.array(c))
            for c in itertools.product(range(3), repeat=n)
            if p.cost_of(np.array(c)) <= budget
        ) if n <= 12 else None  # fmt: skip
        s = solve_exact(p, budget=budget)
        assert s.status == "optimal"
        assert s.objective >= best * (1 - 1e-9)


def test_near_equal_ratios_respect_the_time_limit():
    """53 layers with almost equal gain per BOP: the search is bounded by the time limit and
    still returns a feasible allocation with a valid bound."""
    rng = np.random.default_rng(3)
    macs = (1000 + rng.integers(0, 3, 53)).tolist()
    scores = (np.array(macs) * (1 + rng.random(53) * 1e-7)).tolist()
    p = make_problem(macs, scores, bits=[2, 3, 4, 5, 6, 8, 16])
    s = solve_exact(p, budget=p.budget_for(0.37), time_limit=2)
    assert s.feasible and s.cost <= s.budget
    assert s.upper_bound >= s.objective
    g = solve_greedy(p, budget=p.budget_for(0.37))
    assert s.objective >= g.objective


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "size"), [(0, 0), (1, 0), (2, 0), (3, 0), (4, 900), (5, 700)])
def test_exact_matches_an_independent_milp(seed, size):
    """30-60 layers (or ``size``: large enough for the exact solver to look for its incumbent
    in a small core first), two limits: an independent HiGHS model, its answer re-verified
    exactly."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    rng = np.random.default_rng(seed)
    n = size or int(rng.integers(30, 60))
    ladder = (2, 4, 8)
    params = rng.integers(100, 10_000, n).astype(float).tolist()
    sens = [
        {str(w): float(v) for w, v in zip(ladder, sorted(rng.random(3) * 30), strict=True)}
        for _ in range(n)
    ]
    p = make_problem(rng.random(n).tolist(), sens, params=params, higher_is_better=True)
    limits = [Limit("bops", "0.4x"), Limit("mean_wbits", "4.2")]
    s = solve_exact(p, limits=limits)
    assert s.status == "optimal", s.message
    k = len(ladder)
    c = -p.values.ravel()
    eq = sparse.kron(sparse.eye(n), np.ones((1, k)))
    bops = p.costs.ravel() / p.costs.max()
    wb = (np.array(params)[:, None] * np.array(ladder)[None, :]).ravel()
    res = milp(
        c,
        integrality=np.ones(n * k),
        bounds=Bounds(0, 1),
        constraints=[
            LinearConstraint(eq, 1, 1),
            LinearConstraint(bops, -np.inf, 0.4 * p.max_cost / p.costs.max() * (1 - 1e-9)),
            LinearConstraint(wb / sum(params), -np.inf, 4.2 * (1 - 1e-12)),
        ],
        options={"mip_rel_gap": 0},
    )
    choice = res.x.reshape(n, k).argmax(axis=1)
    assert math.fsum(p.costs[np.arange(n), choice]) <= 0.4 * p.max_cost  # re-verified exactly
    assert math.fsum(np.array(params) * np.array(ladder)[choice]) / sum(params) <= 4.2
    assert s.objective >= p.objective_of(choice) - 1e-9 * p.value_scale


@settings(max_examples=EXAMPLES // 2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_sorted_greedy_is_the_heap_greedy(inst):
    """With any number of limits, the global-sort path returns the heap's allocation and
    upgrade order whenever it applies (ratios not rising, uses not falling)."""
    from mpq_core.solving import greedy
    from mpq_core.solving.instance import make_instance

    allocations = list(_allocations(inst))
    if not allocations:
        return
    limits = _limits(inst, allocations)
    written = [Limit(res, "0x" if res != "mean_wbits" else "0", g) for res, g, _, _ in limits]
    problem = _problem(inst, written)
    bounds = []
    for bound, (_, _, cap, _) in zip(resolve_limits(problem, written), limits, strict=True):
        base = _base_cap(bound, cap)
        bounds.append(replace(bound, cap=base, threshold=bound.exact.threshold(base)))
    case = make_instance(problem, tuple(bounds))
    start = case.lowest.copy()
    if not case.fits(start):
        return
    if len(case.bounds) == 1:
        nxt, delta, _, ratio = greedy.upgrade_table(case, case.rows[0])
    else:
        (nxt, ratio), delta = greedy._multi_ratio(case, start), None
    entries = greedy._entries(case, nxt, ratio, delta)
    if entries.sortable:
        assert greedy._sorted_greedy(case, entries) == greedy._heap_greedy(case, start, nxt, ratio)
