"""The result of solving one set of limits: an allocation with its cost, value and status.

Statuses: ``optimal`` (proven: no allocation is better by more than 1e-9 of the objective's
scale), ``feasible`` (meets every limit; not proven optimal, ``upper_bound`` and ``gap`` say
how far it may be), ``infeasible`` (no allocation meets the limits: the message says which
conflict) and ``unknown`` (the solver found no allocation but did not prove none exists).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np

from ..model.constraints import Limit
from ..model.limits import Bound
from ..model.problem import GIGA, Problem
from ..report.display import bops, decimal_multiplier

FEASIBLE_STATUSES = ("optimal", "feasible")


@dataclass(frozen=True)
class LimitUse:
    """One limit against one allocation, in the limit's written unit."""

    limit: Limit
    cap: float
    use: float  # NaN when there is no allocation
    unit: str
    fits: bool
    binds: bool  # some upgrade fits every other limit but not this one

    @property
    def utilization(self) -> float:
        return self.use / self.cap if self.cap > 0 else math.nan


@dataclass(frozen=True)
class WidthShare:
    """How many layers one width of the ladder got, and its share of the BOPs."""

    width: int
    layers: int
    bops_share: float


@dataclass(frozen=True, eq=False)
class Solution:
    """One allocation. ``choice[i]`` indexes ``problem.widths``.

    An infeasible set of limits is a result, not an error: ``status == "infeasible"``,
    ``choice`` holds the all-lowest allocation and ``message`` says why. With one BOPs
    budget, ``shortfall`` says by how many BOPs it falls short and ``min_multiplier`` is the
    smallest multiplier that would do.
    """

    problem: Problem = field(repr=False)
    solver: str
    status: str
    multiplier: float  # the BOPs budget as a multiplier (NaN when no limit is on BOPs)
    budget: float  # the BOPs budget (inf when no limit is on BOPs)
    choice: np.ndarray
    cost: float  # BOPs of the allocation
    objective: float
    message: str = ""
    upper_bound: float | None = None  # proven bound on the optimum (= objective when optimal)
    lp_bound: float | None = None  # the LP relaxation's value (exact solver)
    bounds: tuple[Bound, ...] = field(default=(), repr=False)
    upgrade_layers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    upgrade_options: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    upgrade_costs: np.ndarray = field(default_factory=lambda: np.zeros(0))  # cost after each

    @property
    def feasible(self) -> bool:
        return self.status in FEASIBLE_STATUSES

    @property
    def wbits(self) -> np.ndarray:
        return np.asarray(self.problem.widths)[self.choice]

    @property
    def abits(self) -> np.ndarray:
        return np.asarray(self.problem.abits)[self.choice]

    @property
    def utilization(self) -> float:
        """Cost / BOPs budget (0 when the budget is 0, NaN when there is none)."""
        if not math.isfinite(self.budget):
            return math.nan
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
    def threshold(self) -> Threshold:
        """The BOPs budget's infeasibility threshold (:func:`feasibility_threshold`)."""
        return feasibility_threshold(self.problem)

    @property
    def min_grid_multiplier(self) -> float:
        """The smallest feasible multiplier on the slider's 0.01 grid."""
        return smallest_grid_multiplier(self.problem)

    @property
    def num_upgrades(self) -> int:
        return count_upgrades(self.problem, self.choice)

    @property
    def gap(self) -> float | None:
        """Upper bound minus objective, when a bound is known (0 when proven optimal)."""
        return None if self.upper_bound is None else self.upper_bound - self.objective

    @cached_property
    def limit_uses(self) -> tuple[LimitUse, ...]:
        """Use, cap and binding of every limit."""
        binds = binding_limits(self.problem, self.bounds, self.choice) if self.feasible else ()
        out = []
        for r, bound in enumerate(self.bounds):
            use = bound.use_of(self.choice) / bound.scale if self.feasible else math.nan
            out.append(
                LimitUse(
                    limit=bound.limit,
                    cap=bound.shown_cap,
                    use=use,
                    unit=bound.unit,
                    fits=bool(self.feasible and bound.fits(self.choice)),
                    binds=bool(binds[r]) if len(binds) else False,
                )
            )
        return tuple(out)

    def wbits_after_upgrades(self) -> list[int]:
        """The new weight width of each recorded upgrade, in order."""
        return [self.problem.widths[j] for j in self.upgrade_options.tolist()]

    def layer_bops(self) -> np.ndarray:
        return self.problem.costs[np.arange(self.problem.n_layers), self.choice]

    def width_shares(self) -> tuple[WidthShare, ...]:
        bops = self.layer_bops()
        total = math.fsum(bops.tolist())
        rows = []
        for j, width in enumerate(self.problem.widths):
            mask = self.choice == j
            share = math.fsum(bops[mask].tolist()) / total if total > 0 else 0.0
            rows.append(WidthShare(width, int(mask.sum()), share))
        return tuple(rows)

    def mean_wbits(self) -> tuple[float, float]:
        """Mean weight width per layer and weighted by MACs."""
        wbits = self.wbits.astype(np.float64)
        macs = self.problem.macs
        weighted = (
            float((wbits * macs).sum() / macs.sum()) if macs.sum() > 0 else float(wbits.mean())
        )
        return float(wbits.mean()), weighted

    def param_mean_wbits(self, group: str | None = None) -> float:
        """Params-weighted mean weight width ("W4.08"), of a group or of every layer; NaN
        when the Phase 1 file gives no parameter counts."""
        params = self.problem.params
        mask = self.problem.group_mask(group)
        p = params[mask]
        if np.isnan(p).any() or not p.sum() > 0:
            return math.nan
        return math.fsum((p * self.wbits[mask]).tolist()) / math.fsum(p.tolist())

    def weight_bits(self, group: str | None = None) -> float:
        """Weight memory in bits (params x width), NaN without parameter counts."""
        mask = self.problem.group_mask(group)
        p = self.problem.params[mask]
        if np.isnan(p).any():
            return math.nan
        return math.fsum((p * self.wbits[mask]).tolist())

    def stored_weight_bits(self, group: str | None = None) -> float:
        """Weight memory in bits, scales and zero points included (formats); params x width
        for plain widths. NaN without parameter counts."""
        if self.problem.formats is None:
            return self.weight_bits(group)
        mask = self.problem.group_mask(group)
        if np.isnan(self.problem.params[mask]).any():
            return math.nan
        bits = self.problem.resource("bpw")
        rows = np.flatnonzero(mask)
        return math.fsum(bits[rows, self.choice[rows]].tolist())

    def effective_bits(self, group: str | None = None) -> float:
        """Params-weighted mean of the effective bits per weight, scales included (``bpw``);
        the params-weighted mean width for plain widths."""
        params = self.problem.params[self.problem.group_mask(group)]
        if np.isnan(params).any() or not params.sum() > 0:
            return math.nan
        return self.stored_weight_bits(group) / math.fsum(params.tolist())


def count_upgrades(problem: Problem, choice: np.ndarray) -> int:
    """Steps up the allowed ladder from each layer's lowest allowed width, summed."""
    allowed_rank = np.cumsum(problem.allowed, axis=1) - 1
    rows = np.arange(problem.n_layers)
    return int(allowed_rank[rows, choice].sum())


def binding_limits(problem: Problem, bounds: tuple[Bound, ...], choice: np.ndarray) -> list[bool]:
    """For each limit: does some one-step upgrade (to a layer's next allowed width, with a
    positive gain; a whole tie at once) fit every other limit but not this one?"""
    if not bounds:
        return []
    from .instance import make_instance

    inst = make_instance(problem, bounds)
    if inst.layer_item is None:
        item_choice = choice
    else:
        item_choice = np.zeros(inst.n_items, dtype=np.intp)
        item_choice[inst.layer_item] = choice
    m, k = inst.allowed.shape
    above = inst.allowed & (np.arange(k)[None, :] > item_choice[:, None])
    has_next = above.any(axis=1)
    nxt = np.where(has_next, np.argmax(above, axis=1), item_choice)
    rows = np.arange(m)
    gain = inst.values[rows, nxt] - inst.values[rows, item_choice]
    candidates = np.flatnonzero(has_next & (gain > 0))
    if candidates.size == 0:
        return [False] * len(bounds)
    totals = inst.totals(item_choice)
    fit = np.ones((candidates.size, len(bounds)), dtype=bool)
    for r, ints in enumerate(inst.ints):
        slack = inst.thresholds[r] - totals[r]
        delta = ints[candidates, nxt[candidates]] - ints[candidates, item_choice[candidates]]
        fit[:, r] = np.asarray([d <= slack for d in delta.tolist()], dtype=bool)
    out = []
    for r in range(len(bounds)):
        others = np.delete(fit, r, axis=1).all(axis=1) if len(bounds) > 1 else True
        out.append(bool(np.any(~fit[:, r] & others)))
    return out


THRESHOLD_DECIMALS = 6  # the decimals of a multiplier the app keeps, and of the threshold


@dataclass(frozen=True)
class Threshold:
    """The infeasibility threshold of the BOPs budget: the smallest multiplier with at most
    :data:`THRESHOLD_DECIMALS` decimals whose budget covers the cheapest allocation."""

    multiplier: float
    text: str  # ``0.125``, ``0.333334``: the multiplier written exactly
    exact: bool  # it is the ratio min cost / max cost itself (not rounded up to the decimals)


def feasibility_threshold(problem: Problem) -> Threshold:
    """The one infeasibility threshold every surface shows (caption, charts, messages).

    A multiplier is feasible when its budget, computed as the solvers do (``float(m) x the
    all-top-width cost``), is at least the cost with every layer at its lowest allowed width.
    The threshold is the smallest such multiplier with at most six decimals, found by that
    same test (never rounded to the nearest: 1/3 gives ``0.333334``, not ``0.333333``), so
    the threshold solves as feasible and every multiplier of six decimals below it as
    infeasible.
    """
    scale = 10**THRESHOLD_DECIMALS
    low, top = problem.min_cost, problem.max_cost

    def fits(k: int) -> bool:
        return low <= float(Fraction(k, scale)) * top

    ratio = Fraction(low) / Fraction(top) if top > 0 else Fraction(0)
    k = math.ceil(ratio * scale)
    while k > 0 and fits(k - 1):
        k -= 1
    while not fits(k) and k < scale:
        k += 1
    value = float(Fraction(k, scale))
    return Threshold(value, decimal_multiplier(value, THRESHOLD_DECIMALS), ratio * scale == k)


def smallest_grid_multiplier(problem: Problem, step: float = 0.01) -> float:
    """The smallest multiplier on a ``step`` grid whose budget covers the minimum cost."""
    steps = math.ceil(feasibility_threshold(problem).multiplier / step - 1e-9)
    while round(steps * step, 10) * problem.max_cost < problem.min_cost:
        steps += 1
    return round(steps * step, 10)


def bops_infeasible_message(problem: Problem, budget: float) -> str:
    """Why a BOPs budget alone is infeasible, in units that keep the figures readable, with
    the threshold (:func:`feasibility_threshold`) and its value on the slider's grid."""
    need = feasibility_threshold(problem)
    grid = decimal_multiplier(smallest_grid_multiplier(problem), 2)
    notes = [] if need.exact else [f"to {THRESHOLD_DECIMALS} decimals"]
    notes += [] if grid == need.text else [f"{grid} on the 0.01 grid"]
    return (
        f"budget {bops(budget)} is below the minimum cost {bops(problem.min_cost)} (all "
        f"layers at their lowest width) by {bops(problem.min_cost - budget)}; the smallest "
        f"feasible multiplier is {need.text}" + (f" ({'; '.join(notes)})" if notes else "")
    )


def greedy_gap(optimum: Solution, greedy: Solution) -> tuple[float, float]:
    """(optimum - greedy objective, that as % of the optimum); NaN when either is infeasible.

    The same definition as :func:`~mpq_core.solving.sweep.solver_gap` uses for a whole sweep. A
    negative gap means the "optimum" was not: the exact solver never returns one (a greedy
    allocation is its first incumbent), so this is checked, not assumed.
    """
    if not (optimum.feasible and greedy.feasible):
        return math.nan, math.nan
    gap = optimum.objective - greedy.objective
    scale = abs(optimum.objective) if optimum.objective != 0 else 1.0
    return gap, gap / scale * 100


@dataclass(frozen=True)
class SolverGap:
    """The exact solver's allocation against the greedy's at one setting (NaN figures when
    either is infeasible; ``lp_bound`` NaN when the exact solver gave no bound)."""

    multiplier: float
    feasible: bool
    greedy_objective: float
    exact_objective: float
    lp_bound: float
    gap: float
    gap_pct: float

    @classmethod
    def of(cls, optimum: Solution, greedy: Solution) -> SolverGap:
        gap, pct = greedy_gap(optimum, greedy)
        return cls(
            multiplier=optimum.multiplier,
            feasible=optimum.feasible,
            greedy_objective=greedy.objective,
            exact_objective=optimum.objective,
            lp_bound=math.nan if optimum.upper_bound is None else optimum.upper_bound,
            gap=gap,
            gap_pct=pct,
        )


def summarize(solution: Solution) -> dict[str, object]:
    """Flat, JSON-friendly figures of one solution (a sweep row, the CLI's --json).

    ``mean_wbit_params`` is the mean weight width shown everywhere else (params-weighted);
    the plain per-layer and MAC-weighted means are named for what they are."""
    problem = solution.problem
    nan = math.nan
    row: dict[str, object] = {
        "solver": solution.solver,
        "multiplier": solution.multiplier,
        "status": solution.status,
        "feasible": solution.feasible,
        "budget_gbops": solution.budget / GIGA,
    }
    if not solution.feasible:  # no allocation exists: no cost, value or mix to report
        row.update(
            {
                "cost_gbops": nan,
                "utilization": nan,
                "objective": nan,
                "objective_share": nan,
                "upper_bound": nan,
                "lp_bound": nan,
                "num_upgrades": 0,
                "mean_wbit": nan,
                "mean_wbit_macs": nan,
                "mean_wbit_params": nan,
                "weight_mib": nan,
                **{f"layers_{w}": 0 for w in problem.widths},
                **{f"bops_share_{w}": nan for w in problem.widths},
            }
        )
    else:
        mean_layer, mean_macs = solution.mean_wbits()
        row.update(
            {
                "cost_gbops": solution.cost / GIGA,
                "utilization": solution.utilization,
                "objective": solution.objective,
                "objective_share": solution.objective_share,
                "upper_bound": nan if solution.upper_bound is None else solution.upper_bound,
                "lp_bound": nan if solution.lp_bound is None else solution.lp_bound,
                "num_upgrades": solution.num_upgrades,
                "mean_wbit": mean_layer,
                "mean_wbit_macs": mean_macs,
                "mean_wbit_params": solution.param_mean_wbits(),
                "weight_mib": solution.weight_bits() / 8 / 2**20,
            }
        )
        for share in solution.width_shares():
            row[f"layers_{share.width}"] = share.layers
            row[f"bops_share_{share.width}"] = share.bops_share
    for r, use in enumerate(solution.limit_uses if len(solution.bounds) > 1 else ()):
        row[f"limit{r}_cap"] = use.cap
        row[f"limit{r}_use"] = use.use
        row[f"limit{r}_binds"] = use.binds
    return row
