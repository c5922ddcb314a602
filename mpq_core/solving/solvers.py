"""One registry of solvers, shared by the command line, the app, sweeps and maps.

Every solver in ``SOLVERS`` has one signature (:class:`Solver`): ``solver(problem, bounds, *,
time_limit=None) -> Solution``, where ``bounds`` are the limits, resolved
(:class:`~mpq_core.model.limits.Bound`) or as written
(:class:`~mpq_core.model.constraints.Limit`, then resolved within the solver's time).
:func:`solve_spec` is the one entry from a :class:`~mpq_core.model.spec.Spec`; :func:`solve` is
the short form for a BOPs multiplier.
``solve_greedy`` and ``solve_exact`` keep the keyword form (``budget=``, ``multiplier=``,
``limits=``) for scripts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from ..errors import InputError
from ..model.constraints import Limit
from ..model.limits import Bound, bops_bound
from ..model.problem import Problem
from ..model.spec import Spec
from .exact import exact_solver
from .greedy import greedy_solver
from .solution import Solution


class Solver(Protocol):
    """The best allocation a solver finds under ``bounds`` in ``time_limit`` seconds (None:
    its default), as a Solution whose status says what is proven."""

    def __call__(
        self, problem: Problem, bounds: Sequence[Bound | Limit], *, time_limit: float | None = None
    ) -> Solution: ...


SOLVERS: dict[str, Solver] = {
    "greedy": greedy_solver,
    "exact": exact_solver,
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
        return SOLVERS[solver](problem, tuple(limits), time_limit=time_limit)
    value = check_multiplier(0.5 if multiplier is None else multiplier)
    bound = bops_bound(problem, problem.budget_for(value), value)
    return SOLVERS[solver](problem, (bound,), time_limit=time_limit)


def solve_spec(problem: Problem, spec: Spec, bounds: Sequence[Bound] | None = None) -> Solution:
    """Solve with the spec's solver and time limit under its limits (or ``bounds``, those
    limits already resolved)."""
    check_solver(spec.solver)
    given = spec.limits if bounds is None else tuple(bounds)
    return SOLVERS[spec.solver](problem, given, time_limit=spec.time_limit)


def sweep_solvers(solver: str) -> tuple[str, ...]:
    """What a sweep solves for a chosen solver: the greedy always, and the chosen one."""
    check_solver(solver)
    return ("greedy",) if solver == "greedy" else ("greedy", solver)
