"""The result of solving one budget: an allocation with its cost, value and status."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .problem import GIGA, Problem

STATUSES = ("optimal", "feasible", "infeasible")


@dataclass(frozen=True, eq=False)
class Solution:
    """One allocation. ``choice[i]`` indexes ``problem.widths``.

    An infeasible budget is a result, not an error: ``status == "infeasible"``, ``choice``
    holds the all-lowest allocation, ``shortfall`` says by how many BOPs the budget falls short
    and ``min_multiplier`` is the smallest multiplier that would do.
    """

    problem: Problem = field(repr=False)
    solver: str
    status: str
    multiplier: float
    budget: float
    choice: np.ndarray
    cost: float
    objective: float
    message: str = ""
    upper_bound: float | None = None  # LP-relaxation bound (exact solver)
    upgrade_layers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    upgrade_options: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    upgrade_costs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cost after each

    @property
    def feasible(self) -> bool:
        return self.status != "infeasible"

    @property
    def wbits(self) -> np.ndarray:
        return np.asarray(self.problem.widths)[self.choice]

    @property
    def abits(self) -> np.ndarray:
        return np.asarray(self.problem.abits)[self.choice]

    @property
    def utilization(self) -> float:
        """Cost / budget (0 when the budget is 0)."""
        return self.cost / self.budget if self.budget > 0 else 0.0

    @property
    def objective_share(self) -> float:
        """Objective as a fraction of the largest reachable objective."""
        top = self.problem.max_objective
        return self.objective / top if top > 0 else 1.0

    @property
    def shortfall(self) -> float:
        return max(0.0, self.problem.min_cost - self.budget) if not self.feasible else 0.0

    @property
    def min_multiplier(self) -> float:
        return self.problem.min_multiplier()

    @property
    def min_grid_multiplier(self) -> float:
        """The smallest feasible multiplier on the slider's 0.01 grid."""
        return smallest_grid_multiplier(self.problem)

    @property
    def num_upgrades(self) -> int:
        """Steps up the allowed ladder, summed over layers (greedy: the upgrades it applied)."""
        allowed_rank = np.cumsum(self.problem.allowed, axis=1) - 1
        rows = np.arange(self.problem.n_layers)
        return int(allowed_rank[rows, self.choice].sum())

    @property
    def gap(self) -> float | None:
        """Upper bound minus objective, when a bound is known."""
        return None if self.upper_bound is None else self.upper_bound - self.objective

    def wbits_after_upgrades(self) -> list[int]:
        """The new weight width of each recorded upgrade, in order."""
        return [self.problem.widths[j] for j in self.upgrade_options.tolist()]

    def layer_bops(self) -> np.ndarray:
        return self.problem.costs[np.arange(self.problem.n_layers), self.choice]

    def distribution(self) -> list[tuple[int, int, float]]:
        """(width, layer count, share of the cost) for each width of the ladder."""
        bops = self.layer_bops()
        total = math.fsum(bops.tolist())
        rows = []
        for j, width in enumerate(self.problem.widths):
            mask = self.choice == j
            share = math.fsum(bops[mask].tolist()) / total if total > 0 else 0.0
            rows.append((width, int(mask.sum()), share))
        return rows

    def mean_wbits(self) -> tuple[float, float]:
        """Mean weight width per layer and weighted by MACs."""
        wbits = self.wbits.astype(np.float64)
        macs = self.problem.macs
        weighted = (
            float((wbits * macs).sum() / macs.sum()) if macs.sum() > 0 else float(wbits.mean())
        )
        return float(wbits.mean()), weighted


def infeasible_solution(
    problem: Problem, solver: str, multiplier: float, budget: float
) -> Solution:
    """The all-lowest allocation, marked infeasible, with the shortfall in the message."""
    choice = problem.lowest.copy()
    need = problem.min_multiplier()
    grid = smallest_grid_multiplier(problem)
    message = (
        f"budget {budget / GIGA:,.2f} GBOPs is below the minimum cost "
        f"{problem.min_cost / GIGA:,.2f} GBOPs (all layers at their lowest width) "
        f"by {(problem.min_cost - budget) / GIGA:,.2f} GBOPs; the smallest feasible multiplier "
        f"is {need:.4f} ({grid:.2f} on the 0.01 grid)"
    )
    return Solution(
        problem=problem,
        solver=solver,
        status="infeasible",
        multiplier=multiplier,
        budget=budget,
        choice=choice,
        cost=problem.cost_of(choice),
        objective=problem.objective_of(choice),
        message=message,
    )


def smallest_grid_multiplier(problem: Problem, step: float = 0.01) -> float:
    """The smallest multiplier on a ``step`` grid whose budget covers the minimum cost."""
    steps = math.ceil(problem.min_multiplier() / step - 1e-9)
    while steps * step * problem.max_cost < problem.min_cost:
        steps += 1
    return round(steps * step, 10)


def greedy_gap(optimum: Solution, greedy: Solution) -> tuple[float, float]:
    """(optimum - greedy objective, that as % of the optimum); NaN when either is infeasible.

    The same definition as :func:`~mpq_core.sweep.solver_gap` uses for a whole sweep.
    """
    if not (optimum.feasible and greedy.feasible):
        return math.nan, math.nan
    gap = optimum.objective - greedy.objective
    return gap, (gap / optimum.objective * 100 if optimum.objective > 0 else 0.0)


def summarize(solution: Solution) -> dict[str, object]:
    """Flat, JSON-friendly figures of one solution (a sweep row, the CLI's --json)."""
    mean_layer, mean_macs = solution.mean_wbits()
    if not solution.feasible:  # no allocation exists: no cost, value or mix to report
        nan = math.nan
        return {
            "solver": solution.solver,
            "multiplier": solution.multiplier,
            "status": solution.status,
            "feasible": False,
            "budget_gbops": solution.budget / GIGA,
            "cost_gbops": nan,
            "utilization": nan,
            "objective": nan,
            "objective_share": nan,
            "upper_bound": nan,
            "num_upgrades": 0,
            "mean_wbit": nan,
            "mean_wbit_macs": nan,
            **{f"layers_{w}": 0 for w in solution.problem.widths},
            **{f"bops_share_{w}": nan for w in solution.problem.widths},
        }
    row: dict[str, object] = {
        "solver": solution.solver,
        "multiplier": solution.multiplier,
        "status": solution.status,
        "feasible": solution.feasible,
        "budget_gbops": solution.budget / GIGA,
        "cost_gbops": solution.cost / GIGA,
        "utilization": solution.utilization,
        "objective": solution.objective,
        "objective_share": solution.objective_share,
        "upper_bound": math.nan if solution.upper_bound is None else solution.upper_bound,
        "num_upgrades": solution.num_upgrades,
        "mean_wbit": mean_layer,
        "mean_wbit_macs": mean_macs,
    }
    for width, count, share in solution.distribution():
        row[f"layers_{width}"] = count
        row[f"bops_share_{width}"] = share
    return row
