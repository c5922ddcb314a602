"""One registry of solvers, shared by the command line and the app."""

from __future__ import annotations

from collections.abc import Callable

from .errors import InputError
from .exact import solve_exact
from .greedy import solve_greedy
from .problem import Problem
from .solution import Solution

Solver = Callable[..., Solution]

SOLVERS: dict[str, Solver] = {
    "greedy": solve_greedy,
    "exact": solve_exact,
}

SOLVER_LABELS = {
    "greedy": "Greedy (bang for buck, reference)",
    "exact": "Exact optimum (proven, with LP bound)",
}


def check_multiplier(multiplier: float) -> float:
    """A budget multiplier must be a number in [0, 1]."""
    try:
        value = float(multiplier)
    except (TypeError, ValueError):
        raise InputError("budget_multiplier", f"not a number ({multiplier!r})") from None
    if not 0.0 <= value <= 1.0:
        raise InputError("budget_multiplier", f"must be between 0.0 and 1.0, got {multiplier!r}")
    return value


def solve(problem: Problem, multiplier: float, solver: str = "greedy") -> Solution:
    """Solve at budget = multiplier x max_cost with a solver from SOLVERS."""
    if solver not in SOLVERS:
        raise InputError("solver", f"unknown solver {solver!r} (choose from {', '.join(SOLVERS)})")
    value = check_multiplier(multiplier)
    return SOLVERS[solver](problem, budget=problem.budget_for(value), multiplier=value)
