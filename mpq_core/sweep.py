"""Many budgets at once: the cost curve, the solvers' gap and the Pareto front as tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import InputError
from .exact import ExactSolver
from .problem import Problem
from .solution import summarize
from .solvers import SOLVERS, check_multiplier

DEFAULT_MULTIPLIERS: tuple[float, ...] = tuple(round(i / 100, 2) for i in range(101))


def sweep_budgets(
    problem: Problem,
    multipliers: Iterable[float] | None = None,
    *,
    solvers: Sequence[str] = ("greedy",),
) -> pd.DataFrame:
    """One row per (multiplier, solver) with the figures of :func:`summarize`.

    With both "greedy" and "exact", every row also carries ``greedy_gap`` (exact minus greedy
    objective at that multiplier) and ``greedy_gap_pct`` (the same as % of the exact objective).
    """
    grid = DEFAULT_MULTIPLIERS if multipliers is None else tuple(multipliers)
    grid = tuple(check_multiplier(m) for m in grid)
    for name in solvers:
        if name not in SOLVERS:
            raise InputError(
                "solver", f"unknown solver {name!r} (choose from {', '.join(SOLVERS)})"
            )
    exact = ExactSolver(problem) if "exact" in solvers else None
    rows = []
    for m in grid:
        budget = problem.budget_for(m)
        for name in solvers:
            if name == "exact" and exact is not None:
                solution = exact.solve(budget, m)
            else:
                solution = SOLVERS[name](problem, budget=budget, multiplier=m)
            rows.append(summarize(solution))
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
    """Per multiplier: greedy and exact objectives, the LP bound, and the greedy's gap.

    ``gap_pct`` is (exact - greedy) / exact x 100; NaN where the budget is infeasible.
    """
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
            "lp_bound": exact["upper_bound"].reindex(greedy.index).to_numpy(),
        }
    )
    gap = out["exact_objective"] - out["greedy_objective"]
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(out["exact_objective"] > 0, gap / out["exact_objective"] * 100, 0.0)
    out["gap"] = gap.where(out["feasible"])
    out["gap_pct"] = pd.Series(pct).where(out["feasible"])
    return out


def pareto_front(sweep: pd.DataFrame, solver: str = "greedy") -> pd.DataFrame:
    """Feasible rows of ``solver`` whose objective beats every cheaper row: the trade-off front."""
    rows = sweep[(sweep["solver"] == solver) & sweep["feasible"]].sort_values(
        ["cost_gbops", "objective"], ascending=[True, False]
    )
    best = rows["objective"].cummax().shift(fill_value=-np.inf)
    return rows[rows["objective"] > best].reset_index(drop=True)
