"""From a solver's item choice to a Solution; the infeasible result and what it says."""

from __future__ import annotations

import math

import numpy as np

from ..model.limits import Bound
from ..report.display import gbops
from .instance import Instance
from .solution import Solution, bops_infeasible_message


def primary_bops(bounds: tuple[Bound, ...]) -> Bound | None:
    """The first cap on BOPs over every layer: the budget reports and charts speak of."""
    for bound in bounds:
        if bound.resource == "bops" and bound.limit.group is None and not bound.lower:
            return bound
    return None


def make_solution(
    inst: Instance,
    solver: str,
    status: str,
    item_choice: np.ndarray,
    message: str,
    **extra,
) -> Solution:
    problem = inst.problem
    choice = np.asarray(inst.expand(np.asarray(item_choice, dtype=np.intp)), dtype=np.intp)
    budget_bound = primary_bops(inst.bounds)
    if budget_bound is None:
        multiplier, budget = math.nan, math.inf
    else:
        multiplier, budget = budget_bound.limit.multiplier, budget_bound.cap
        if budget_bound.limit.form != "x":
            multiplier = budget / problem.max_cost if problem.max_cost > 0 else 0.0
    return Solution(
        problem=problem,
        solver=solver,
        status=status,
        multiplier=multiplier,
        budget=budget,
        choice=choice,
        cost=problem.cost_of(choice),
        objective=problem.objective_of(choice),
        message=message,
        bounds=inst.bounds,
        **extra,
    )


def infeasibility(inst: Instance) -> str | None:
    """Why no allocation can meet the limits, when a limit alone already rules it out; None
    otherwise (the limits may still conflict with each other: only the exact solver knows)."""
    problem = inst.problem
    reasons = []
    for r, bound in enumerate(inst.bounds):
        least = _least_total(inst, r)
        if least <= inst.thresholds[r]:
            continue
        if len(inst.bounds) == 1 and primary_bops(inst.bounds) is bound:
            return bops_infeasible_message(problem, bound.cap)
        need = bound.exact.to_float(inst.given_total(r, least)) / bound.scale
        most = "greatest" if bound.lower else "least"
        reasons.append(
            f"{bound.limit.label()} cannot be met: with every layer at its {most} "
            f"use it is {_amount(need, bound)}{_least_formats(inst, r)} against a limit of "
            f"{_amount(bound.shown_cap, bound)}"
        )
    return "; ".join(reasons) or None


def _least_formats(inst: Instance, r: int) -> str:
    """`` (every layer at int2_g64)``: the formats that reach the least use of limit ``r``."""
    formats = inst.problem.formats
    if formats is None:
        return ""
    scope = inst.bounds[r].scope if inst.layer_item is None else np.ones(inst.n_items, bool)
    use = np.where(inst.allowed, inst.rows[r], np.inf)[scope]
    least = np.argmin(use, axis=1)
    names = sorted({formats[j].name for j in least.tolist()}, key=[f.name for f in formats].index)
    if len(names) == 1:
        return f" (every layer at {names[0]})"
    most = "most" if inst.bounds[r].lower else "least"
    return f" (each layer at its {most}-using format: {', '.join(names)})"


def start_failure(inst: Instance, start: np.ndarray, where: str) -> Solution | None:
    """The greedy's answer when its starting allocation (``where``: every layer at its lowest
    allowed width, or at its option of least use) is over a limit: infeasible when a limit
    alone rules every allocation out, else unknown; None when the start fits."""
    if inst.fits(start):
        return None
    why = infeasibility(inst)
    if why is not None:
        return infeasible_solution(inst, "greedy", why)
    return unknown_solution(
        inst,
        "greedy",
        f"the greedy starts with every layer at {where}, which does not meet "
        f"{'; '.join(violated(inst, start))}; the exact solver tells whether any "
        "allocation meets every limit",
    )


def infeasible_solution(inst: Instance, solver: str, message: str) -> Solution:
    return make_solution(inst, solver, "infeasible", inst.lowest.copy(), message)


def unknown_solution(inst: Instance, solver: str, message: str) -> Solution:
    return make_solution(inst, solver, "unknown", inst.lowest.copy(), message)


def violated(inst: Instance, choice: np.ndarray) -> list[str]:
    """The limits an allocation does not meet, as text."""
    totals = inst.totals(choice)
    return [
        bound.describe()
        for bound, total, cap in zip(inst.bounds, totals, inst.thresholds, strict=True)
        if total > cap
    ]


def _least_total(inst: Instance, r: int) -> int:
    """The exact least use of limit ``r``: every item at its least-using allowed option."""
    ints = inst.ints[r]
    if ints.dtype == np.int64:
        big = np.iinfo(np.int64).max
        return int(np.where(inst.allowed, ints, big).min(axis=1).sum())
    best = []
    for row, ok in zip(ints.tolist(), inst.allowed.tolist(), strict=True):
        best.append(min(v for v, allowed in zip(row, ok, strict=True) if allowed))
    return sum(best)


def _amount(value: float, bound: Bound) -> str:
    if bound.resource == "bops":
        return gbops(value * 1e9)
    return f"{value:,.6g} {bound.unit}".rstrip()
