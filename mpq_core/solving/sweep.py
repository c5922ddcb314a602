"""Many budgets at once: the cost curve, the solvers' gap and the Pareto front as tables."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import Stopped
from ..model.constraints import Limit, limit_value
from ..model.limits import LimitResolver
from ..model.problem import Problem
from ..model.spec import DEFAULT_TIME_LIMIT
from .deadline import Deadline
from .exact import ExactSolver
from .solution import Solution, summarize
from .solvers import SOLVERS, check_multiplier, check_solver

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MULTIPLIERS: tuple[float, ...] = tuple(round(i / 100, 2) for i in range(101))
SWEEP_TIME_LIMIT = 120.0  # seconds for all exact solves of one sweep


def sweep_budgets(
    problem: Problem,
    multipliers: Iterable[float] | None = None,
    *,
    solvers: Sequence[str] = ("greedy",),
    time_limit: float = SWEEP_TIME_LIMIT,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """One row per (multiplier, solver) with the figures of :func:`summarize`, for the BOPs
    budget ``bops <= m x``.

    With both "greedy" and "exact", every row also carries ``greedy_gap`` (exact minus greedy
    objective at that multiplier) and ``greedy_gap_pct`` (the same as % of the exact
    objective). The exact solves share ``time_limit`` seconds: one deadline for all of them
    (each also stops at its own default limit); once it has passed, each returns its first
    incumbent with the bound (status ``feasible``) without searching or calling HiGHS.
    ``stop`` is asked before every solve; when it says True the sweep raises
    :class:`~mpq_core.errors.Stopped`.
    """
    return solve_budgets(
        problem, multipliers, solvers=solvers, time_limit=time_limit, stop=stop
    ).table


@dataclass(frozen=True)
class BudgetSweep:
    """A sweep's table and the allocations behind it: ``solutions[solver][k]`` is the
    solution at the k-th multiplier of ``multipliers``."""

    multipliers: tuple[float, ...]
    table: pd.DataFrame
    solutions: Mapping[str, tuple[Solution, ...]]


def solve_budgets(
    problem: Problem,
    multipliers: Iterable[float] | None = None,
    *,
    solvers: Sequence[str] = ("greedy",),
    time_limit: float = SWEEP_TIME_LIMIT,
    stop: Callable[[], bool] | None = None,
) -> BudgetSweep:
    """:func:`sweep_budgets` keeping every allocation (for views that show each of them)."""
    grid = DEFAULT_MULTIPLIERS if multipliers is None else tuple(multipliers)
    grid = tuple(check_multiplier(m) for m in grid)
    limits = [[Limit("bops", limit_value(m, "multiplier", "value") + "x")] for m in grid]
    kept: dict[str, list[Solution]] = {name: [] for name in solvers}
    table = _sweep(problem, grid, limits, solvers, time_limit, stop, keep=kept)
    return BudgetSweep(grid, table, {name: tuple(found) for name, found in kept.items()})


def solve_sweep(
    problem: Problem,
    limits: Sequence[Limit],
    values: Iterable[float],
    *,
    vary: int = 0,
    solvers: Sequence[str] = ("greedy",),
    time_limit: float = SWEEP_TIME_LIMIT,
    stop: Callable[[], bool] | None = None,
) -> BudgetSweep:
    """:func:`sweep_limits` keeping every allocation (for views that show each of them):
    ``multipliers`` holds ``values``, in limit ``vary``'s written form."""
    grid = tuple(float(v) for v in values)
    sets = _limit_sets(limits, vary, grid)
    kept: dict[str, list[Solution]] = {name: [] for name in solvers}
    table = _sweep(problem, grid, sets, solvers, time_limit, stop, keep=kept)
    return BudgetSweep(grid, table, {name: tuple(found) for name, found in kept.items()})


def _limit_sets(limits: Sequence[Limit], vary: int, grid: Sequence[float]) -> list[list[Limit]]:
    """``limits`` with limit ``vary``'s number set to each value of ``grid``."""
    base = list(limits)
    return [[*base[:vary], _with_number(base[vary], v), *base[vary + 1 :]] for v in grid]


def sweep_limits(
    problem: Problem,
    limits: Sequence[Limit],
    *,
    vary: int = 0,
    values: Iterable[float] | None = None,
    solvers: Sequence[str] = ("greedy",),
    time_limit: float = SWEEP_TIME_LIMIT,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """Rows for ``limits`` with limit ``vary``'s number set to each of ``values`` (in its
    written form: x, r or absolute), the other limits held. ``multiplier`` holds the value."""
    grid = DEFAULT_MULTIPLIERS if values is None else tuple(float(v) for v in values)
    return _sweep(problem, grid, _limit_sets(limits, vary, grid), solvers, time_limit, stop)


def sweep_grid(
    problem: Problem,
    limits: Sequence[Limit],
    *,
    axes: tuple[int, int] = (0, 1),
    values: tuple[Sequence[float], Sequence[float]],
    solver: str = "greedy",
    time_limit: float = SWEEP_TIME_LIMIT,
    progress: Callable[[float], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> pd.DataFrame:
    """The trade-off map: limits ``axes[0]`` and ``axes[1]`` set to every pair of ``values``
    (each in its written form), the other limits held. One row per cell with the objective,
    the status and ``binding``: the limits that bind, joined by " + " ("" when none does).
    ``progress`` hears the share done after each cell; ``stop`` as in :func:`sweep_budgets`."""
    import pandas as pd

    check_solver(solver)
    base = list(limits)
    first, second = axes
    exact = ExactSolver(problem) if solver == "exact" else None
    deadline = Deadline.after(time_limit)
    total = len(values[0]) * len(values[1])
    resolve = LimitResolver(problem)  # each resource and group once
    rows = []
    for a, x in enumerate(values[0]):
        for b, y in enumerate(values[1]):
            _check(stop)
            cell = list(base)
            cell[first] = _with_number(base[first], x)
            cell[second] = _with_number(base[second], y)
            bounds = resolve.all(cell)
            if exact is not None:
                solution = exact.solve_limits(bounds, deadline=deadline.within(exact.time_limit))
            else:
                solution = SOLVERS[solver](problem, bounds)
            uses = solution.limit_uses
            rows.append(
                {
                    "x": float(x),
                    "y": float(y),
                    "status": solution.status,
                    "feasible": solution.feasible,
                    "objective": solution.objective if solution.feasible else float("nan"),
                    "objective_share": solution.objective_share
                    if solution.feasible
                    else float("nan"),
                    "binding": " + ".join(u.limit.target for u in uses if u.binds),
                    "message": "" if solution.feasible else solution.message,
                }
            )
            if progress is not None:
                progress((a * len(values[1]) + b + 1) / total)
    return pd.DataFrame(rows)


def _check(stop: Callable[[], bool] | None) -> None:
    if stop is not None and stop():
        raise Stopped("the sweep was stopped")


def _with_number(limit: Limit, value: float) -> Limit:
    suffix = limit.form if limit.form != "abs" else ""
    return limit.with_value(limit_value(float(value), "sweep", "value") + suffix)


def _sweep(
    problem: Problem,
    grid: Sequence[float],
    limit_sets: Sequence[Sequence[Limit]],
    solvers: Sequence[str],
    time_limit: float,
    stop: Callable[[], bool] | None,
    keep: dict[str, list[Solution]] | None = None,
) -> pd.DataFrame:
    import pandas as pd

    for name in solvers:
        check_solver(name)
    exact = ExactSolver(problem, time_limit=DEFAULT_TIME_LIMIT) if "exact" in solvers else None
    deadline = Deadline.after(time_limit)
    rows = []
    resolve = LimitResolver(problem)  # each resource and group once
    for m, limits in zip(grid, limit_sets, strict=True):
        bounds = resolve.all(limits)
        for name in solvers:
            _check(stop)
            if name == "exact" and exact is not None:
                solution = exact.solve_limits(bounds, deadline=deadline.within(exact.time_limit))
            else:
                solution = SOLVERS[name](problem, bounds)
            if keep is not None:
                keep[name].append(solution)
            row = summarize(solution)
            row["multiplier"] = m
            rows.append(row)
    table = pd.DataFrame(rows)
    if {"greedy", "exact"} <= set(solvers):
        gap = solver_gap(table)[["multiplier", "gap", "gap_pct"]]
        table = table.merge(
            gap.rename(columns={"gap": "greedy_gap", "gap_pct": "greedy_gap_pct"}),
            on="multiplier",
            how="left",
        )
    return table


def solver_gap(sweep: pd.DataFrame) -> pd.DataFrame:
    """Per multiplier: greedy and exact objectives, the exact bound, and the greedy's gap.

    ``gap_pct`` is (exact - greedy) / |exact| x 100; NaN where the budget is infeasible.
    """
    import pandas as pd

    needed = {"greedy", "exact"}
    if not needed <= set(sweep["solver"]):
        raise ValueError("solver_gap needs a sweep with both 'greedy' and 'exact'")
    greedy = sweep[sweep["solver"] == "greedy"].set_index("multiplier")
    exact = sweep[sweep["solver"] == "exact"].set_index("multiplier")
    out = pd.DataFrame(
        {
            "multiplier": greedy.index.to_numpy(),
            "feasible": greedy["feasible"].to_numpy(),
            "greedy_objective": greedy["objective"].to_numpy(),
            "exact_objective": exact["objective"].reindex(greedy.index).to_numpy(),
            "exact_status": exact["status"].reindex(greedy.index).to_numpy(),
            "upper_bound": exact["upper_bound"].reindex(greedy.index).to_numpy(),
            "lp_bound": exact["lp_bound"].reindex(greedy.index).to_numpy(),
        }
    )
    gap = out["exact_objective"] - out["greedy_objective"]
    scale = np.where(out["exact_objective"] != 0, np.abs(out["exact_objective"]), 1.0)
    out["gap"] = gap.where(out["feasible"])
    out["gap_pct"] = pd.Series(gap / scale * 100).where(out["feasible"])
    return out


def pareto_front(sweep: pd.DataFrame, solver: str = "greedy") -> pd.DataFrame:
    """Feasible rows of ``solver`` whose objective beats every cheaper row: the trade-off front."""
    rows = sweep[(sweep["solver"] == solver) & sweep["feasible"]].sort_values(
        ["cost_gbops", "objective"], ascending=[True, False]
    )
    best = rows["objective"].cummax().shift(fill_value=-np.inf)
    return rows[rows["objective"] > best].reset_index(drop=True)
