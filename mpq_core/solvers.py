"""One registry of solvers, shared by the command line and the app.

Every solver takes ``(problem, *, budget=None, multiplier=None, limits=None, time_limit=None)``
and returns a :class:`~mpq_core.solution.Solution`: ``limits`` are
:class:`~mpq_core.constraints.Limit` records (or resolved bounds), ``budget`` a BOPs budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .constraints import Limit
from .errors import InputError
from .exact import solve_exact
from .greedy import solve_greedy
from .problem import Problem
from .solution import Solution
from .spec import Spec

Solver = Callable[..., Solution]

SOLVERS: dict[str, Solver] = {
    "greedy": solve_greedy,
    "exact": solve_exact,
}

SOLVER_LABELS = {
    "greedy": "Greedy (bang for buck, reference)",
    "exact": "Exact optimum (proven, with its bound)",
}


def check_multiplier(multiplier: float) -> float:
    """A budget multiplier must be a number in [0, 1] (-0 reads as 0)."""
    try:
        value = float(multiplier)
    except (TypeError, ValueError, OverflowError):
        raise InputError("budget_multiplier", f"not a number ({multiplier!r})") from None
    if not 0.0 <= value <= 1.0:
        raise InputError("budget_multiplier", f"must be between 0.0 and 1.0, got {multiplier!r}")
    return value + 0.0


def check_solver(solver: str) -> str:
    if solver not in SOLVERS:
        raise InputError("solver", f"unknown solver {solver!r} (choose from {', '.join(SOLVERS)})")
    return solver


def solve(
    problem: Problem,
    multiplier: float | None = None,
    solver: str = "greedy",
    *,
    limits: Iterable[Limit] | None = None,
    time_limit: float | None = None,
) -> Solution:
    """Solve at ``bops <= multiplier x`` (the original budget) or under ``limits``."""
    check_solver(solver)
    if limits is not None:  # resolved by the solver: its time limit covers the resolving
        return SOLVERS[solver](problem, limits=tuple(limits), time_limit=time_limit)
    value = check_multiplier(0.5 if multiplier is None else multiplier)
    return SOLVERS[solver](
        problem, budget=problem.budget_for(value), multiplier=value, time_limit=time_limit
    )


def solve_spec(problem: Problem, spec: Spec) -> Solution:
    """Solve with the spec's limits, solver and time limit."""
    return solve(problem, solver=spec.solver, limits=spec.limits, time_limit=spec.time_limit)


def sweep_solvers(solver: str) -> tuple[str, ...]:
    """What a sweep solves for a chosen solver: the greedy always, and the chosen one."""
    check_solver(solver)
    return ("greedy",) if solver == "greedy" else ("greedy", solver)
