"""The exact solver's time limit (issue 19, hazard 2): one deadline for the whole solve.

No test here waits or times anything: a fake clock stands in for ``time.monotonic`` and runs
out after a chosen number of readings, and every HiGHS call is recorded with the time it was
given. Answers are checked against brute force over every allocation, with the limits
re-costed here from the problem's own arrays (integer MACs and parameter counts, so every
sum below is exact in floating point).
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import scipy.optimize
from factory import make_problem

import mpq_core.solving.exact as exact_module
import mpq_core.solving.milp as milp_module
from mpq_core import ExactSolver, Limit, Spec, solve_exact, solve_greedy, sweep_budgets
from mpq_core.model.constraints import Constraints, Group
from mpq_core.model.limits import resolve_limits
from mpq_core.solving.deadline import Deadline
from mpq_core.solving.instance import make_instance
from mpq_core.solving.milp import Relaxation

LIMIT = 1.0  # fake seconds given to each solve
LADDER = (2, 4, 8, 16)
CASES = {
    "one limit": [Limit("bops", "0.37x")],
    "two limits": [Limit("bops", "0.37x"), Limit("mean_wbits", "7")],
    "a group limit": [Limit("bops", "0.37x"), Limit("bops", "0.3x", "odd")],
}


class FakeClock:
    """Fake seconds: each reading returns the time and moves it on by ``step``."""

    def __init__(self, step: float = 0.0):
        self.step = step
        self.now = 0.0
        self.last = 0.0  # the time the solver last read

    def __call__(self) -> float:
        self.last = self.now
        self.now += self.step
        return self.last


def runs_out_after(readings: int, limit: float = LIMIT) -> FakeClock:
    """A clock on which a deadline ``limit`` after its first reading has passed at reading
    number ``readings + 1`` (the first reading sets the deadline)."""
    return FakeClock(limit / readings)


@pytest.fixture
def highs_calls(monkeypatch):
    """Every call to scipy's milp and linprog: (function, time limit, options)."""
    calls = []
    for name in ("milp", "linprog"):
        real = getattr(scipy.optimize, name)

        def record(*args, _real=real, _name=name, **kwargs):
            options = kwargs.get("options") or {}
            calls.append((_name, options.get("time_limit"), dict(options)))
            return _real(*args, **kwargs)

        monkeypatch.setattr(scipy.optimize, name, record)
    return calls


@pytest.fixture
def clock_calls(monkeypatch, highs_calls):
    """Install a fake ``time.monotonic``; HiGHS calls then also note the time left on a
    deadline set at the clock's first reading, ``LIMIT`` later: (time given, time left)."""
    seen = []

    def install(clock: FakeClock, limit: float = LIMIT) -> list[tuple[float, float]]:
        monkeypatch.setattr(time, "monotonic", clock)
        for name in ("milp", "linprog"):
            recorded = getattr(scipy.optimize, name)

            def note(*args, _recorded=recorded, **kwargs):
                seen.append(((kwargs.get("options") or {}).get("time_limit"), limit - clock.last))
                return _recorded(*args, **kwargs)

            monkeypatch.setattr(scipy.optimize, name, note)
        return seen

    return install


def near_equal(n: int = 7, seed: int = 3):
    """Gain per BOP of every layer's first step equal up to 1e-7: a weak LP bound."""
    rng = np.random.default_rng(seed)
    macs = rng.integers(1, 10**6, n)
    scores = (macs * (1 + rng.random(n) * 1e-7)).tolist()
    params = rng.integers(100, 10_000, n).tolist()
    names = [f"b{i % 2}.layer{i}" for i in range(n)]
    spec = Spec(ladder=LADDER, constraints=Constraints(groups=(Group("odd", ("b1.*",)),)))
    return make_problem(macs.tolist(), scores, names=names, params=params, spec=spec)


def uses(problem, limits, choices: np.ndarray) -> np.ndarray:
    """Which allocations (rows of ``choices``) meet every limit, re-costed here."""
    rows = np.arange(problem.n_layers)
    ok = np.ones(len(choices), dtype=bool)
    for limit in limits:
        if limit.resource == "bops":
            scope = problem.group_mask(limit.group)
            costs = np.where(scope[:, None], problem.costs, 0.0)
            cap = limit.multiplier * math.fsum(costs[:, -1].tolist())
            ok &= costs[rows, choices].sum(axis=1) <= cap
        else:  # mean_wbits over every layer
            params = problem.params
            bits = (params * np.asarray(problem.widths, float)[choices]).sum(axis=1)
            ok &= bits / params.sum() <= limit.multiplier
    return ok


def optimum(problem, limits) -> float:
    """The best objective over every allocation that meets the limits (brute force)."""
    choices = np.array(list(itertools.product(range(len(LADDER)), repeat=problem.n_layers)))
    fits = uses(problem, limits, choices)
    values = problem.values[np.arange(problem.n_layers), choices].sum(axis=1)
    return float(values[fits].max())


def check_answer(problem, limits, solution) -> None:
    """Fits (re-costed), never below the greedy, bound above the optimum, "optimal" only
    when it is, and a message that says "optimal" only then."""
    tol = 1e-9 * problem.value_scale
    best = optimum(problem, limits)
    assert solution.status in ("optimal", "feasible"), solution.message
    assert uses(problem, limits, solution.choice[None, :])[0]
    assert solution.objective >= solve_greedy(problem, limits=limits).objective - tol
    assert solution.objective <= best + tol
    assert solution.upper_bound >= best - tol
    if solution.status == "optimal":
        assert solution.objective >= best - tol
        assert solution.message.startswith("optimal")
    else:
        assert not solution.message.startswith("optimal"), solution.message


def check_calls(seen: list[tuple[float, float]]) -> None:
    """No HiGHS call once the deadline has passed, none given more than the time left."""
    for given, left in seen:
        assert left > 0, f"HiGHS called {-left:.3f} s after the deadline"
        assert given <= left, f"HiGHS given {given:.3f} s with {left:.3f} s left"


@pytest.mark.parametrize("highs", [False, True], ids=["own search", "HiGHS core"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("readings", [1, 2, 3, 5, 8, 13, 21, 34, 55, 10**6])
def test_the_deadline_passing_at_any_check_leaves_a_valid_answer(
    case, readings, highs, clock_calls, monkeypatch
):
    """Whenever the deadline passes, the answer fits, its bound is above the optimum, and
    HiGHS was never called late or given more than the time left (the old solver gave it at
    least 0.05 s, even after the deadline)."""
    if highs:  # cores go to HiGHS instead of the Pareto search / branch and bound
        monkeypatch.setattr(exact_module, "_STATE_CAP", 1)
        monkeypatch.setattr(exact_module, "_SMALL_CORE", 0)
    p = near_equal()
    seen = clock_calls(runs_out_after(readings))
    s = solve_exact(p, limits=CASES[case], time_limit=LIMIT)
    check_calls(seen)
    check_answer(p, CASES[case], s)


@pytest.mark.parametrize("case", CASES)
def test_a_deadline_already_passed_returns_the_first_incumbent(case, highs_calls):
    """An injected clock past the deadline from the first check on: no search, no HiGHS,
    the greedy (or better) with its Lagrangian bound."""
    p = near_equal()
    solver = ExactSolver(p, time_limit=LIMIT, clock=FakeClock(step=10 * LIMIT))
    s = solver.solve_limits(resolve_limits(p, CASES[case]))
    assert highs_calls == []
    check_answer(p, CASES[case], s)


def test_with_time_to_spare_the_answer_is_the_optimum(highs_calls):
    """A clock that never moves: every case is solved to its proven optimum."""
    p = near_equal()
    for limits in CASES.values():
        s = ExactSolver(p, clock=FakeClock()).solve_limits(resolve_limits(p, limits))
        assert s.status == "optimal"
        check_answer(p, limits, s)


def test_time_limit_zero_means_no_time_not_the_default(clock_calls):
    """``time_limit=0`` used to read as "not given" (20 s): HiGHS ran on a stopped clock."""
    p = near_equal()
    seen = clock_calls(FakeClock(), limit=0.0)
    s = solve_exact(p, limits=CASES["two limits"], time_limit=0)
    assert seen == []
    check_answer(p, CASES["two limits"], s)


def test_large_cores_run_highs_without_presolve_or_sub_mips(highs_calls, monkeypatch):
    """Presolve and the sub-MIP heuristics ran 95-160 s past a 1.9 s limit on a
    40,000-column core: above ``_FULL_HIGHS_COLUMNS`` they are off."""
    monkeypatch.setattr(milp_module, "_FULL_HIGHS_COLUMNS", 1)  # every core MILP is "large"
    monkeypatch.setattr(exact_module, "_STATE_CAP", 1)
    monkeypatch.setattr(exact_module, "_SMALL_CORE", 0)
    p = near_equal()
    for limits in CASES.values():
        s = ExactSolver(p, clock=FakeClock()).solve_limits(resolve_limits(p, limits))
        check_answer(p, limits, s)
    milps = [options for name, _, options in highs_calls if name == "milp"]
    assert milps
    for options in milps:
        assert options["presolve"] is False
        assert all(options[key] is False for key in milp_module._BOUNDED_MILP)


def test_highs_is_skipped_when_its_set_up_alone_would_overrun(highs_calls, monkeypatch):
    """A model whose unchecked work is costed above the time left is never handed to
    HiGHS; the incumbent and the Lagrangian bound remain (small cores are still proven by
    the exact search)."""
    monkeypatch.setattr(milp_module, "_OUTSIDE_SECONDS_PER_COLUMN", 10.0)
    monkeypatch.setattr(milp_module, "_LP_OUTSIDE_SECONDS_PER_COLUMN", 10.0)
    p = near_equal()
    for limits in CASES.values():
        solver = ExactSolver(p, time_limit=5.0, clock=FakeClock())
        check_answer(p, limits, solver.solve_limits(resolve_limits(p, limits)))
    assert highs_calls == []


@pytest.mark.parametrize("seed", range(6))
def test_without_the_lp_the_descent_multipliers_bound_the_optimum(seed, monkeypatch):
    """When HiGHS gives no LP answer, the coordinate descent's multipliers give the bound:
    above the optimum, below the bound with no multiplier, and the solve still proves."""
    unsolved = Relaxation(False, math.inf, (0.0, 0.0), None)
    monkeypatch.setattr(exact_module, "solve_relaxation", lambda inst, deadline: unsolved)
    p = near_equal(seed=seed)
    limits = CASES["two limits"]
    inst = make_instance(p, resolve_limits(p, limits))
    lam = exact_module._descent_multipliers(inst, Deadline(math.inf, FakeClock()))
    bound = exact_module._lagrangian(inst, lam)[3]
    assert optimum(p, limits) <= bound + 1e-9 * p.value_scale
    assert bound <= exact_module._lagrangian(inst, (0.0, 0.0))[3]
    s = ExactSolver(p, clock=FakeClock()).solve_limits(inst.bounds)
    assert s.status == "optimal"
    check_answer(p, limits, s)


@pytest.mark.parametrize("readings", [2, 5, 9, 14, 20, 40])
def test_a_sweep_gives_each_solve_only_the_sweep_s_time_left(readings, clock_calls, monkeypatch):
    """The exact solves of a sweep share one deadline: no HiGHS call after it, none given
    more than what is left of it, and every row is still an answer with a valid bound."""
    monkeypatch.setattr(exact_module, "_STATE_CAP", 1)
    p = near_equal()
    seen = clock_calls(runs_out_after(readings))
    table = sweep_budgets(p, [0.3, 0.37, 0.5], solvers=("greedy", "exact"), time_limit=LIMIT)
    check_calls(seen)
    exact = table[table["solver"] == "exact"]
    assert set(exact["status"]) <= {"optimal", "feasible"}
    for m, bound, objective in zip(
        exact["multiplier"], exact["upper_bound"], exact["objective"], strict=True
    ):
        best = optimum(p, [Limit("bops", f"{m}x")])
        assert objective <= best + 1e-9 * p.value_scale <= bound + 2e-9 * p.value_scale
