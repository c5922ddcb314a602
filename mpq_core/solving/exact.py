"""The proven optimum of the multiple-choice knapsack, with a bound and the remaining gap.

    maximise    sum_i values[i, x_i]
    subject to  sum_i use_r[i, x_i] <= cap_r   for every limit r,
                x_i in the allowed options of item i (a tie is one item)

"Fits" is exact (``arithmetic.py``). "Optimal" means proven: no allocation is better by more
than 1e-9 of the objective's scale (the sum over layers of each layer's largest |gain|); the
reported ``upper_bound`` then equals the objective (gap 0). A solve that runs out of its time
limit (``time_limit`` seconds, 20 by default) returns its best allocation as ``feasible`` with
a valid upper bound and the gap. The greedy's allocation is always one of the incumbents, so
the exact objective is never below the greedy's.

The time limit is one wall-clock ``Deadline`` for the whole solve, set-up included
(``deadline.py``): every phase below checks it or is handed it, HiGHS gets only the time
left (``milp.py``). Stopping early is always safe: the incumbent fits (checked exactly), and
the bound reported is a Lagrangian bound, valid for any multipliers >= 0, computed before
any search starts.

One limit (the fast path):
1. LP relaxation. Each item's options are reduced to the upper convex hull of (use, value);
   the LP optimum takes hull increments in decreasing slope order, the last one fractionally.
   Its slope is the multiplier lambda of the limit.
2. Incumbents: the greedy's allocation and the LP solution rounded down then filled.
3. Reduced-cost fixing. For lambda >= 0, UB = lambda * cap + sum_i max_j (v_ij - lambda u_ij)
   bounds every allocation, and one that puts item i on option j is worth at most
   UB - (max_j' d_ij' - d_ij). Options that cannot reach the incumbent are dropped.
4. Core search over the options within ``width`` of UB: an exact Pareto-state enumeration on
   integer uses (states over the cap, dominated states and states whose Lagrangian bound is
   below the target are dropped). If the core's best reaches UB - width, nothing outside the
   core can beat it: proven; otherwise the width grows. A core whose states explode goes to
   HiGHS.

Several limits: the same fixing with the multipliers of the LP relaxation (HiGHS, when its
share of the time left can pay for it) or, when HiGHS gave none, of a coordinate descent on
the Lagrangian dual (each step the single-limit LP above, on the values less the other
limits' priced uses). When some limits have a zero multiplier (slack in the LP), the
solve under the others comes first: its optimum, when it meets every limit, is the optimum.
Else a first incumbent improved by a bounded depth-first search of the
options nearest the LP optimum; then the core, searched exactly when it is small (up to
``_MIDDLE_CORE`` items, the larger ones for a bounded number of nodes), else as a MILP
(``milp.py``), its answer re-checked exactly.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..model.constraints import Limit
from ..model.limits import Bound, as_bounds, caps_beside_floors, meets_floors, resolve_limits
from ..model.problem import Problem
from ..model.spec import DEFAULT_TIME_LIMIT
from .deadline import Clock, Deadline
from .greedy import greedy_on
from .instance import Instance, make_instance
from .milp import Relaxation, solve_core_milp, solve_relaxation
from .results import infeasibility, infeasible_solution, make_solution, unknown_solution
from .rounding import repaired
from .search import NODE_CAP, approx_float, branch_and_bound
from .solution import Solution

_STATE_CAP = 200_000  # Pareto states per item before the core goes to HiGHS instead
_STATE_SECONDS = 0.3e-6  # an item's work per (state, option) pair, int64 uses (measured ~0.15)
_BIG_STATE_SECONDS = 5e-6  # ... with uses as Python integers (sorted in Python)
_SMALL_CORE = 48  # cores up to this many items are searched exactly before trying HiGHS
_MIDDLE_CORE = 250  # ... and up to this many, for at most _MIDDLE_NODES nodes (~0.5 s)
_MIDDLE_NODES = 200_000
_SEED_NODES = 20_000  # nodes of the depth-first search for a better first incumbent
_LARGE_CORE = 400  # ... and up to this many after HiGHS could not settle them
_SEED_CORE = 400  # layers in the first, small core that finds a near-optimal incumbent
_SEED_SHARE = 0.25  # ... and the share of the time left it may take
_LP_SHARE = 0.5  # the LP relaxation (several limits) may take this share of the time left
_DESCENT_PASSES = 4  # passes over the limits of the multipliers' coordinate descent
_DESCENT_SHARE = 0.3  # ... and the share of the time left they may take
_BRACKET_DOUBLINGS = 60  # two limits: doublings of l2 until limit 2 is met ...
_BISECTIONS = 40  # ... then bisections, down to a relative width of
_BISECTION_TOLERANCE = 1e-7
_PROOF = 1e-9  # "optimal": within this fraction of the objective's scale
_SLACK_SHARE = 0.6  # several limits: the solve under those the multipliers price first
_CAPS_SHARE = 0.6  # with floors, the solve under the caps alone may take this share first
_FLOAT = 2.0**-52


@dataclass(frozen=True, eq=False)
class _Hulls:
    base: np.ndarray  # (m,) cheapest hull option of each item
    layer: np.ndarray  # (h,) increments sorted by slope, descending
    frm: np.ndarray
    to: np.ndarray
    dc: np.ndarray
    dv: np.ndarray
    slope: np.ndarray
    cum_dc: np.ndarray
    cum_dv: np.ndarray
    base_value: float
    base_cost: float


class ExactSolver:
    """Solves one problem under many limits; the hull work is done once per resource."""

    def __init__(
        self,
        problem: Problem,
        *,
        time_limit: float = DEFAULT_TIME_LIMIT,
        clock: Clock | None = None,
    ):
        self.problem = problem
        self.time_limit = time_limit
        self.clock = clock  # None: time.monotonic (tests pass one that runs out on demand)
        self._hulls: dict[tuple, _Hulls] = {}

    # --- the BOPs budget (the original problem) ---------------------------------------------

    def lp_bound(self, budget: float) -> tuple[float, float, int, float]:
        """(LP value, lambda, increments taken whole, fraction of the next one) for BOPs."""
        inst = make_instance(self.problem, as_bounds(self.problem, budget))
        return _lp(self._hull_of(inst), budget)

    def solve(self, budget: float, multiplier: float | None = None) -> Solution:
        return self.solve_limits(as_bounds(self.problem, budget, multiplier))

    # --- any limits --------------------------------------------------------------------------

    def solve_limits(
        self,
        bounds: tuple[Bound, ...],
        *,
        time_limit: float | None = None,
        deadline: Deadline | None = None,
    ) -> Solution:
        """The optimum under ``bounds``, or the best allocation found by ``deadline`` (else
        ``time_limit`` seconds from now, by default the solver's) with its bound."""
        if deadline is None:
            limit = self.time_limit if time_limit is None else time_limit
            deadline = Deadline.after(limit, self.clock)
        return self._solve_bounds(bounds, deadline)

    def _solve_bounds(
        self, bounds: tuple[Bound, ...], deadline: Deadline, greedy: Solution | None = None
    ) -> Solution:
        """``solve_limits``; ``greedy``, when given, is an allocation that meets ``bounds``
        to start from (the greedy's under more limits) in place of the greedy's own."""
        inst = make_instance(self.problem, bounds)
        why = infeasibility(inst)
        if why is not None:
            return infeasible_solution(inst, "exact", why)
        settled = self._floors_left_out(bounds, deadline)
        if settled is not None:
            return settled
        if greedy is None:
            greedy = greedy_on(inst)
        if len(bounds) == 1:
            return self._single(inst, greedy, deadline)
        return _several(inst, greedy, deadline)

    def _floors_left_out(self, bounds: tuple[Bound, ...], deadline: Deadline) -> Solution | None:
        """With caps and floors: the solve under the caps alone (a share of the time), when
        its answer settles the question. The caps alone allow every allocation the floors
        do, so their optimum, when it meets the floors, is the optimum, their bound is a bound
        and their infeasibility is infeasibility. None otherwise."""
        caps = caps_beside_floors(bounds)
        if caps is None:
            return None
        relaxed = self.solve_limits(caps, deadline=deadline.share(_CAPS_SHARE))
        if relaxed.status == "infeasible":
            return replace(relaxed, bounds=bounds)
        if not relaxed.feasible or not meets_floors(bounds, relaxed.choice):
            return None
        note = "the optimum under the caps alone meets every floor"
        message = f"optimal: {note}" if relaxed.status == "optimal" else relaxed.message
        return replace(relaxed, bounds=bounds, message=message)

    def _hull_of(self, inst: Instance) -> _Hulls:
        bound = inst.bounds[0]
        key = (bound.resource, bound.limit.group)
        if key not in self._hulls:
            self._hulls[key] = _build_hulls(inst.rows[0], inst.values, inst.allowed)
        return self._hulls[key]

    def _single(self, inst: Instance, greedy: Solution, deadline: Deadline) -> Solution:
        hulls = self._hull_of(inst)
        cap = inst.caps[0]
        lp_value, lam, taken, _ = _lp(hulls, cap)
        (lam,), best_reduced, gaps, lagrange = _lagrangian(inst, (lam,))
        eps = _epsilon(inst, lam * inst.magnitudes[0])
        valid_upper = max(lp_value, lagrange) + eps  # no allocation can exceed this
        tolerance = _PROOF * inst.value_scale

        best_choice, best = _best_incumbent(inst, greedy, hulls, taken, cap)
        width = max((lagrange - best) / 16, eps) if best_choice is not None else math.inf
        status, note = "feasible", "time limit reached before the optimum was proven"
        while not deadline.passed():
            full = width >= lagrange - best + eps
            core_width = min(width, lagrange - best + eps)
            # Only a core allocation worth at least UB - width can end the search.
            floor = max(best, lagrange - core_width)
            found, proven, note_core = _solve_core(
                inst, lam, gaps, best_reduced, core_width + eps, floor, eps, deadline
            )
            if found is not None and (best_choice is None or inst.objective(found) > best):
                best_choice, best = found, inst.objective(found)
            if not proven:
                note = note_core
                break
            if full or best >= lagrange - core_width - tolerance:
                status, note = "optimal", note_core
                break
            width *= 4
        if best_choice is None:  # nothing fits; proven when the search was exhaustive
            if status == "optimal":
                return infeasible_solution(inst, "exact", "no allocation meets the limit")
            return unknown_solution(inst, "exact", note)
        objective = inst.objective(best_choice)
        if status != "optimal" and valid_upper - objective <= tolerance:
            status, note = "optimal", "optimal: the incumbent reaches the LP bound"
        return make_solution(
            inst,
            "exact",
            status,
            best_choice,
            note,
            upper_bound=objective if status == "optimal" else max(valid_upper, objective),
            lp_bound=lp_value,
        )


def _lagrangian(
    inst: Instance, lam: Sequence[float]
) -> tuple[tuple[float, ...], np.ndarray, np.ndarray, float]:
    """(multipliers, best reduced value per item, reduced-cost gaps, the Lagrangian bound
    sum_r lam_r cap_r + sum_i max_j (v_ij - sum_r lam_r u_rij)) for multipliers >= 0.

    Multipliers whose products overflow (a hull step of almost no use has an enormous
    slope) are replaced by 0: the bound is then the objective with no limit, still valid."""
    for candidate in (tuple(lam), (0.0,) * len(inst.bounds)):
        if not all(math.isfinite(x) for x in candidate):
            continue
        with np.errstate(over="ignore", invalid="ignore"):
            priced = [x * row for x, row in zip(candidate, inst.rows, strict=True) if x > 0]
            reduced = np.where(inst.allowed, inst.values - sum(priced), -np.inf)
            best_reduced = reduced.max(axis=1)
            gaps = best_reduced[:, None] - reduced
            caps = [x * cap for x, cap in zip(candidate, inst.caps, strict=True) if x > 0]
            bound = math.fsum(caps) + math.fsum(best_reduced.tolist())
        if math.isfinite(bound) and not np.isnan(gaps[inst.allowed]).any():
            return candidate, best_reduced, gaps, bound
    raise AssertionError("the bound without a multiplier is finite by construction")


def _descent_multipliers(inst: Instance, deadline: Deadline) -> tuple[float, ...]:
    """Multipliers for several limits without HiGHS: for two limits the dual's own search
    (:func:`_two_limit_multipliers`), else coordinate descent on the Lagrangian dual. A step
    sets one limit's multiplier to its best value with the others held: the single-limit LP
    (``_lp`` on the hulls) of the values less the other limits' priced uses. It is kept only
    when it lowers the bound. Any multipliers >= 0 give a valid bound, so stopping anywhere
    (``deadline``, ``_DESCENT_PASSES`` passes) is safe."""
    if len(inst.bounds) == 2:
        found = _two_limit_multipliers(inst, deadline)
        if found is not None:
            return found
    lam = (0.0,) * len(inst.bounds)
    best = _lagrangian(inst, lam)[3]
    for _ in range(_DESCENT_PASSES):
        for r, cap in enumerate(inst.caps):
            if deadline.passed():
                return lam
            priced = [x * inst.rows[s] for s, x in enumerate(lam) if s != r and x > 0]
            hulls = _build_hulls(inst.rows[r], inst.values - sum(priced), inst.allowed)
            trial = (*lam[:r], _lp(hulls, cap)[1], *lam[r + 1 :])
            found, _, _, value = _lagrangian(inst, trial)
            if found == trial and value < best:
                lam, best = trial, value
    return lam


def _priced_rounding(
    inst: Instance, lam: tuple[float, ...], deadline: Deadline
) -> np.ndarray | None:
    """An allocation from the multipliers: the single-limit LP of the first limit on the values
    less the other limits' priced uses, rounded down and filled (``_lp_rounded``), or only
    rounded down when that is over another limit, then brought within every limit
    (``rounding.repaired``); None when that fails."""
    priced = [x * row for x, row in zip(lam[1:], inst.rows[1:], strict=True) if x > 0]
    h = _build_hulls(inst.rows[0], inst.values - sum(priced), inst.allowed)
    taken = _lp(h, inst.caps[0])[2]
    choice = _lp_rounded(inst, h, taken, inst.caps[0])
    return repaired(inst, _rounded_down(h, taken) if choice is None else choice, deadline)


def _two_limit_multipliers(inst: Instance, deadline: Deadline) -> tuple[float, float] | None:
    """The Lagrangian dual of two limits, min over l1, l2 >= 0 of L(l1, l2), as a search on
    l2 alone: g(l2) = min over l1 of L = l2 cap2 + the single-limit LP of limit 1 on the values
    less l2 x (limit 2's uses), whose slope is the best l1. g is convex, and cap2 less limit
    2's use by that LP's solution is its slope in l2: l2 is bracketed by doubling and then
    bisected on the sign of that slope (each step one set of hulls). None when a cap is
    infinite; stopping early (``deadline``) leaves valid multipliers."""
    caps = list(inst.caps)
    if not all(math.isfinite(c) and c > 0 for c in caps):
        return None

    def slope_and_excess(l2: float) -> tuple[float, float]:
        h = _build_hulls(inst.rows[0], inst.values - l2 * inst.rows[1], inst.allowed)
        _, slope, taken, fraction = _lp(h, caps[0])
        use = inst.rows[1]
        steps = use[h.layer, h.to] - use[h.layer, h.frm]
        base = math.fsum(use[np.arange(inst.n_items), h.base].tolist())
        used = base + math.fsum(steps[:taken].tolist())
        if taken < len(steps):
            used += fraction * float(steps[taken])
        return slope, used - caps[1]

    slope, excess = slope_and_excess(0.0)
    if excess <= 0:
        return slope, 0.0
    low, high = 0.0, inst.value_scale / caps[1]
    for _ in range(_BRACKET_DOUBLINGS):
        slope, excess = slope_and_excess(high)
        if excess <= 0 or deadline.passed():
            break
        low, high = high, high * 2
    best = (slope, high) if excess <= 0 else None
    for _ in range(_BISECTIONS):
        if deadline.passed() or high - low <= _BISECTION_TOLERANCE * high:
            break
        middle = (low + high) / 2
        slope, excess = slope_and_excess(middle)
        if excess > 0:
            low = middle
        else:
            high, best = middle, (slope, middle)
    return best


def solve_exact(
    problem: Problem,
    *,
    budget: float | None = None,
    multiplier: float | None = None,
    limits=None,
    time_limit: float | None = None,
) -> Solution:
    """Proven-optimal allocation within the limits (or a BOPs ``budget``), with its bound
    (the keyword form of :func:`exact_solver`)."""
    if limits is not None:  # resolved inside: the time limit covers the resolving
        return exact_solver(problem, tuple(limits), time_limit=time_limit)
    return exact_solver(problem, as_bounds(problem, budget, multiplier), time_limit=time_limit)


def exact_solver(
    problem: Problem, bounds: Sequence[Bound | Limit], *, time_limit: float | None = None
) -> Solution:
    """The registry's form (``solvers.Solver``): the optimum within ``bounds``, or the best
    allocation found in ``time_limit`` seconds (set-up and resolving included) with its
    bound."""
    limit = DEFAULT_TIME_LIMIT if time_limit is None else time_limit
    deadline = Deadline.after(limit)  # before the limits are resolved: set-up counts
    solver = ExactSolver(problem, time_limit=limit)
    return solver.solve_limits(resolve_limits(problem, bounds), deadline=deadline)


# --- several limits --------------------------------------------------------------------------


def _several(inst: Instance, greedy: Solution, deadline: Deadline) -> Solution:
    """Fix options by the multipliers' reduced costs, then solve the rest exactly.

    The Lagrangian bound UB = sum_r lambda_r cap_r + sum_i max_j (v_ij - sum_r lambda_r u_rij)
    holds for any lambda >= 0, so it is computed here rather than taken from HiGHS. Every
    option of an allocation better than the incumbent has a reduced-cost gap of at most
    UB - incumbent: the core keeps exactly those, so the core's optimum is the optimum. A small
    core is searched exactly (``search.py``); a large one goes to HiGHS, whose answer counts as
    proven when it fits exactly (HiGHS solves a slightly relaxed problem, so an answer that
    fits the exact one is its optimum).
    """
    relaxation = solve_relaxation(inst, deadline.share(_LP_SHARE))
    if relaxation.solved or relaxation.infeasible:
        lam = relaxation.multipliers
    else:
        lam = _descent_multipliers(inst, deadline.share(_DESCENT_SHARE))
    lam, _, gaps, lagrange = _lagrangian(inst, lam)
    first = _priced_first(inst, lam, greedy, deadline)
    if first.settled is not None:
        return replace(first.settled, lp_bound=relaxation.value if relaxation.solved else None)
    weighted_caps = math.fsum(lam[r] * size for r, size in enumerate(inst.magnitudes) if lam[r] > 0)
    eps = _epsilon(inst, abs(weighted_caps))
    valid_upper = lagrange + eps

    if relaxation.rounded is None and not deadline.passed():
        relaxation = replace(relaxation, rounded=_priced_rounding(inst, lam, deadline))
    others = () if first.choice is None else (first.choice,)
    incumbent, best = _several_incumbent(inst, greedy, relaxation, (lam, gaps), deadline, others)
    keep = (
        inst.allowed & (gaps <= valid_upper - best + eps) if incumbent is not None else inst.allowed
    )
    found, proven, note = _search_core(inst, keep, lam, best, eps, deadline)
    if found is not None and (incumbent is None or inst.objective(found) >= best):
        incumbent = found
    if incumbent is None:
        if proven or relaxation.infeasible:
            return _conflict(inst, deadline)
        return unknown_solution(inst, "exact", note or "no allocation found in the time limit")
    upper = min(valid_upper, first.upper)  # the fixing above needs the Lagrangian's own
    return _several_solution(inst, incumbent, proven, note, upper, relaxation)


@dataclass(frozen=True, eq=False)
class _Priced:
    """What the solve under the limits the multipliers price gave: the answer when it meets
    every limit and is proven, else its allocation moved within every limit (an incumbent) and
    its bound, which bounds the optimum under every limit too."""

    settled: Solution | None = None
    choice: np.ndarray | None = None  # an item choice that meets every limit
    upper: float = math.inf


def _priced_first(
    inst: Instance, lam: tuple[float, ...], greedy: Solution, deadline: Deadline
) -> _Priced:
    """The solve under the limits the multipliers price (a share of the time) when others
    have a zero multiplier: those are slack in the LP relaxation, and often in the optimum.

    Fewer limits allow every allocation the limits do, so an optimum under them that meets
    every limit is the optimum ("optimal" keeps its meaning): ``settled``. The greedy's
    allocation is returned instead when it is better (by less than the proof's tolerance),
    so the exact objective stays at least the greedy's. Otherwise their bound (for a proven
    optimum, its objective plus that tolerance) bounds the optimum under every limit, and
    their allocation, moved back within the limits left out (``rounding.repaired``), is an
    incumbent. On 100,000 layers with a ``bops`` cap the LP leaves slack, the two limits'
    core was a MILP that HiGHS did not settle in 17 s; under ``bpw`` alone the exact fast
    path proves the optimum in about 3.5 s (benchmarks/bench_formats.py)."""
    priced = [r for r, x in enumerate(lam) if x * inst.magnitudes[r] > _PROOF * inst.value_scale]
    if not priced or len(priced) == len(lam) or deadline.passed():
        return _Priced()
    solver = ExactSolver(inst.problem, clock=deadline.clock)  # timed by the deadline below
    fewer = tuple(inst.bounds[r] for r in priced)  # the greedy's allocation meets them too:
    relaxed = solver._solve_bounds(fewer, deadline.share(_SLACK_SHARE), greedy)  # no new walk
    if not relaxed.feasible:
        return _Priced()
    choice = _item_choice(inst, relaxed.choice)
    proven = relaxed.status == "optimal"
    if proven and inst.fits(choice):
        if greedy.feasible and greedy.objective > relaxed.objective:
            choice = _item_choice(inst, greedy.choice)
        note = "optimal: the optimum under the limits the LP relaxation prices meets every limit"
        settled = make_solution(
            inst, "exact", "optimal", choice, note, upper_bound=inst.objective(choice)
        )
        return _Priced(settled=settled)
    upper = relaxed.objective + _PROOF * inst.value_scale if proven else relaxed.upper_bound
    return _Priced(choice=repaired(inst, choice, deadline), upper=upper)


def _several_incumbent(
    inst: Instance,
    greedy: Solution,
    relaxation: Relaxation,
    priced: tuple[tuple[float, ...], np.ndarray],
    deadline: Deadline,
    others: Sequence[np.ndarray] = (),
) -> tuple[np.ndarray | None, float]:
    """The best of the greedy's allocation, the rounded LP solution and ``others`` (those
    that fit), improved in a small core while there is time; (None, -inf) when none fits."""
    candidates = [_item_choice(inst, greedy.choice)] if greedy.feasible else []
    candidates += [choice for choice in others if inst.fits(choice)]
    if relaxation.rounded is not None and inst.fits(relaxation.rounded):
        candidates.append(relaxation.rounded)
    incumbent = max(candidates, key=inst.objective) if candidates else None
    best = inst.objective(incumbent) if incumbent is not None else -math.inf
    if incumbent is not None and not deadline.passed():
        incumbent, best = _improve_in_small_core(inst, priced, incumbent, best, deadline)
    return incumbent, best


def _several_solution(
    inst: Instance,
    incumbent: np.ndarray,
    proven: bool,
    note: str,
    valid_upper: float,
    relaxation: Relaxation,
) -> Solution:
    """The result for ``incumbent``: optimal when the core search proved it or it reaches the
    Lagrangian bound ``valid_upper``, else feasible with that bound."""
    objective = inst.objective(incumbent)
    if not proven and valid_upper - objective <= _PROOF * inst.value_scale:
        proven, note = True, "optimal: the incumbent reaches the bound"
    return make_solution(
        inst,
        "exact",
        "optimal" if proven else "feasible",
        incumbent,
        note if proven or note else "time limit reached before the optimum was proven",
        upper_bound=objective if proven else max(valid_upper, objective),
        lp_bound=relaxation.value if math.isfinite(relaxation.value) else None,
    )


def _search_core(
    inst: Instance,
    keep: np.ndarray,
    lam: tuple[float, ...],
    best: float,
    eps: float,
    deadline: Deadline,
) -> tuple[np.ndarray | None, bool, str]:
    """The best allocation of the core ``keep`` worth more than ``best`` (-inf: any), and
    whether that is proven: exact search for a small core, else HiGHS, then exact search for
    a core HiGHS left unsettled. Nothing starts once ``deadline`` has passed."""
    free = np.flatnonzero(keep.sum(axis=1) >= 2)
    fixed_choice = np.argmax(keep, axis=1)
    found, proven, note = None, False, ""
    if len(free) <= _MIDDLE_CORE and not deadline.passed():
        nodes = NODE_CAP if len(free) <= _SMALL_CORE else _MIDDLE_NODES
        found, status = branch_and_bound(
            inst, free, keep, fixed_choice, lam, best, eps, deadline, nodes
        )
        proven = status == "done"
        note = f"optimal: {len(free)} of {inst.n_items} layers searched exactly after fixing"
        if not proven:
            note = f"the exact search stopped ({status})"
    if proven or deadline.passed():
        return found, proven, note
    outcome = solve_core_milp(inst, keep, deadline)
    found = outcome.choice if outcome.choice is not None else found
    proven, note = outcome.proven, outcome.note
    if outcome.infeasible and best == -math.inf:
        proven = False  # HiGHS's word only; the exact search below decides
    if not proven and outcome.choice is None and len(free) <= _LARGE_CORE:
        if deadline.passed():
            return found, False, note
        found, status = branch_and_bound(inst, free, keep, fixed_choice, lam, best, eps, deadline)
        proven = status == "done"
        note = "optimal: searched exactly after HiGHS" if proven else f"stopped ({status})"
    return found, proven, note


def _improve_in_small_core(
    inst: Instance,
    priced: tuple[tuple[float, ...], np.ndarray],
    incumbent: np.ndarray,
    best: float,
    deadline: Deadline,
) -> tuple[np.ndarray, float]:
    """A better incumbent from the options closest to the LP optimum (a core of about
    ``_SEED_CORE`` layers, the others at the incumbent's options), so that the proof core,
    whose width is the bound minus the incumbent, stays small. The rounded LP solution loses
    up to one upgrade per limit, and on thousands of layers that loss alone keeps most layers
    in the proof core. The core (the ``_SEED_CORE`` items whose second-best option is
    nearest, whatever ties their gaps have) is searched depth first for ``_SEED_NODES`` nodes
    (its first dives follow the multipliers' best options): measured on 794 and 2,000 random
    layers of 8 formats, that leaves a proof core about as small as HiGHS on the same core
    did, in a fifth of the time (benchmarks/bench_formats.py). When it finds nothing better
    (near-equal gaps, say), HiGHS gets every option that near, as before."""
    lam, gaps = priced
    second = np.where(gaps > 0, gaps, np.inf).min(axis=1)  # each item's nearest other option
    nearest = np.argsort(second, kind="stable")[:_SEED_CORE]  # at most that many items,
    nearest = nearest[np.isfinite(second[nearest])]  # whatever ties the gaps have
    if not nearest.size:
        return incumbent, best
    width = float(second[nearest[-1]])
    near = np.zeros(inst.n_items, dtype=bool)
    near[nearest] = True
    own = np.arange(gaps.shape[1]) == incumbent[:, None]
    keep = inst.allowed & (((gaps <= width) & near[:, None]) | own)
    free = np.flatnonzero(keep.sum(axis=1) >= 2)
    found, _ = branch_and_bound(
        inst, free, keep, incumbent, lam, best, 0.0, deadline.share(_SEED_SHARE), _SEED_NODES
    )
    if found is not None and inst.objective(found) > best:
        return found, inst.objective(found)
    outcome = solve_core_milp(
        inst, inst.allowed & ((gaps <= width) | own), deadline.share(_SEED_SHARE)
    )
    if outcome.choice is not None and outcome.value > best:
        return outcome.choice, outcome.value
    return incumbent, best


def _conflict(inst: Instance, deadline: Deadline) -> Solution:
    """No allocation meets every limit: name the smallest set of limits that conflict."""
    names = [b.limit.label() for b in inst.bounds]
    for size in range(2, len(inst.bounds)):
        for subset in itertools.combinations(range(len(inst.bounds)), size):
            sub = make_instance(inst.problem, tuple(inst.bounds[r] for r in subset))
            if _none_fits(sub, deadline):
                shown = " and ".join(names[r] for r in subset)
                return infeasible_solution(
                    inst, "exact", f"the limits {shown} conflict: no allocation meets them all"
                )
    shown = " and ".join(names)
    return infeasible_solution(
        inst, "exact", f"the limits {shown} conflict: no allocation meets them all"
    )


def _none_fits(inst: Instance, deadline: Deadline) -> bool:
    """True when no allocation meets every limit of ``inst`` (exact for small instances;
    False, unproven, once ``deadline`` has passed)."""
    if infeasibility(inst) is not None:
        return True
    if deadline.passed():
        return False
    everything = np.arange(inst.n_items)
    if inst.n_items <= _LARGE_CORE:
        found, status = branch_and_bound(
            inst, everything, inst.allowed, inst.lowest.copy(), (0.0,) * len(inst.bounds),
            -math.inf, 0.0, deadline,
        )  # fmt: skip
        return found is None and status == "done"
    return solve_relaxation(inst, deadline).infeasible


# --- the fast path's pieces ------------------------------------------------------------------


def _best_incumbent(
    inst: Instance, greedy: Solution, hulls: _Hulls, taken: int, cap: float
) -> tuple[np.ndarray | None, float]:
    """The better of the greedy's allocation and the rounded LP solution (those that fit)."""
    options = [_item_choice(inst, greedy.choice)] if greedy.feasible else []
    rounded = _lp_rounded(inst, hulls, taken, cap)
    if rounded is not None:
        options.append(rounded)
    if not options:
        return None, -math.inf
    choice = max(options, key=inst.objective)
    return choice, inst.objective(choice)


def _rounded_down(h: _Hulls, taken: int) -> np.ndarray:
    """Each item at the end of its last increment of the ``taken`` first (the LP solution
    without its split increment)."""
    pos = h.base.copy()
    if taken:  # each item's last increment taken (option numbers need not grow along a hull)
        last = np.full(len(pos), -1)
        np.maximum.at(last, h.layer[:taken], np.arange(taken))
        moved = np.flatnonzero(last >= 0)
        pos[moved] = h.to[last[moved]]
    return pos


def _lp_rounded(inst: Instance, h: _Hulls, taken: int, cap: float) -> np.ndarray | None:
    """LP solution rounded down, then later increments that still fit, in slope order."""
    pos = _rounded_down(h, taken)
    if not inst.fits(pos):
        return None
    ints = inst.ints[0]
    total = inst.totals(pos)[0]
    room = inst.thresholds[0] - total
    at = pos.tolist()
    layer, frm, to = h.layer.tolist(), h.frm.tolist(), h.to.tolist()
    for t in range(taken, len(layer)):
        i = layer[t]
        if at[i] != frm[t]:
            continue
        d = int(ints[i, to[t]]) - int(ints[i, frm[t]])
        if d <= room:
            at[i] = to[t]
            room -= d
    return np.asarray(at, dtype=np.intp)


def _solve_core(
    inst: Instance,
    lam: float,
    gaps: np.ndarray,
    best_reduced: np.ndarray,
    width: float,
    floor: float,
    eps: float,
    deadline: Deadline,
) -> tuple[np.ndarray | None, bool, str]:
    """Best allocation using only options within ``width`` of the Lagrangian bound.

    Returns (allocation or None, whether it is proven optimal over that core, a note)."""
    m = inst.n_items
    keep = inst.allowed & (gaps <= width)
    counts = keep.sum(axis=1)
    fixed_choice = np.argmax(keep, axis=1)
    free = np.flatnonzero(counts >= 2)
    if free.size == 0:
        if inst.fits(fixed_choice):
            return fixed_choice, True, "optimal: every layer fixed by its reduced cost"
        return None, True, "optimal: no core allocation fits"
    fixed = np.ones(m, dtype=bool)
    fixed[free] = False
    found, status = _pareto_search(inst, free, keep, fixed_choice, lam, floor, best_reduced, eps,
                                   deadline)  # fmt: skip
    if status == "done":
        if found is None:
            return None, True, "optimal: nothing within the core beats the incumbent"
        return found, True, f"optimal: {len(free)} of {m} layers searched after fixing"
    if status == "time":
        return None, False, "time limit reached during the core search"
    outcome = solve_core_milp(inst, keep, deadline)
    if outcome.choice is None:
        if outcome.infeasible:
            return None, True, "optimal: no core allocation fits"
        return None, False, outcome.note
    return outcome.choice, outcome.proven, outcome.note


def _pareto_search(
    inst: Instance,
    free: np.ndarray,
    keep: np.ndarray,
    fixed_choice: np.ndarray,
    lam: float,
    floor: float,
    best_reduced: np.ndarray,
    eps: float,
    deadline: Deadline,
) -> tuple[np.ndarray | None, str]:
    """Exact best choice for the ``free`` items, costs as exact integers.

    Returns (allocation or None, "done" | "capped" | "time"). A state is a partial
    allocation's (use, value). After each item, states over the cap, dominated states (using
    as much or more and worth no more) and states whose bound
    value + lam * (room - use) + sum of the later items' best reduced values is below
    ``floor`` are dropped. "capped": more than ``_STATE_CAP`` states, or the next item's work
    (states x options, costed at ``_STATE_SECONDS`` each) would not end before ``deadline``."""
    ints = inst.ints[0]
    exponent = inst.bounds[0].exact.exponent
    room, fixed_value = _room_for(inst, free, fixed_choice)
    target = floor - fixed_value
    if room < 0:
        return None, "done"
    spread = [max(int(v) for v in ints[i][keep[i]]) for i in free.tolist()]
    small = ints.dtype == np.int64 and sum(spread) < (1 << 62)
    dtype = np.int64 if small else object
    rest = np.concatenate([np.cumsum(best_reduced[free][::-1])[::-1][1:], [0.0]])
    cost = np.zeros(1, dtype=dtype)
    value = np.zeros(1)
    trail: list[tuple[np.ndarray, np.ndarray]] = []
    per_state = _STATE_SECONDS if small else _BIG_STATE_SECONDS
    for t, i in enumerate(free.tolist()):
        options = np.flatnonzero(keep[i])
        left = deadline.left()
        if left <= 0:
            return None, "time"
        if left <= len(cost) * len(options) * per_state:  # HiGHS may use the rest better
            return None, "capped"
        item = (ints[i, options].astype(dtype), inst.values[i, options], options)
        cost, value, parent, option = _next_states(
            cost, value, item, room, exponent, lam, rest[t], target - eps
        )
        if len(cost) == 0:
            return None, "done"
        if len(cost) > _STATE_CAP:
            return None, "capped"
        trail.append((parent, option))
    state = int(np.argmax(value))
    if value[state] < target - eps:
        return None, "done"
    out = fixed_choice.copy()
    for t in range(len(free) - 1, -1, -1):
        parent, option = trail[t]
        out[free[t]] = option[state]
        state = int(parent[state])
    return (out if inst.fits(out) else None), "done"


def _room_for(inst: Instance, free: np.ndarray, fixed_choice: np.ndarray) -> tuple[int, float]:
    """(the limit's room left for the ``free`` items above their least use, as an exact
    integer; the value of the others at ``fixed_choice``)."""
    ints = inst.ints[0]
    fixed_mask = np.ones(inst.n_items, dtype=bool)
    fixed_mask[free] = False
    fixed_use = inst.totals(np.where(fixed_mask, fixed_choice, inst.lowest))[0]
    free_low = ints[free, inst.lowest[free]]
    fixed_use -= int(free_low.sum()) if free_low.dtype == np.int64 else sum(free_low.tolist())
    rows = np.arange(inst.n_items)
    fixed_value = math.fsum(inst.values[rows[fixed_mask], fixed_choice[fixed_mask]].tolist())
    return inst.thresholds[0] - fixed_use, fixed_value


def _next_states(
    cost: np.ndarray,
    value: np.ndarray,
    item: tuple[np.ndarray, np.ndarray, np.ndarray],
    room: int,
    exponent: int,
    lam: float,
    rest: float,
    floor: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The Pareto states after one more item (its uses, values and option numbers): each
    state with each option, within the room, with a bound of at least ``floor``, sorted by
    use with the dominated ones dropped; (use, value, parent state, option) per state."""
    add, gain, options = item
    small = cost.dtype == np.int64
    c = (cost[None, :] + add[:, None]).ravel()
    v = (value[None, :] + gain[:, None]).ravel()
    parent = np.tile(np.arange(len(cost)), len(options))
    option = np.repeat(options, len(cost))
    slack = room - c
    ok_cost = slack >= 0 if small else np.asarray([s >= 0 for s in slack.tolist()], bool)
    if small:
        slack_f = slack.astype(np.float64) * math.ldexp(1.0, exponent)
    else:
        slack_f = np.asarray([approx_float(int(s), exponent) for s in slack.tolist()])
    ok = ok_cost & (v + lam * slack_f + rest >= floor)
    c, v, parent, option = c[ok], v[ok], parent[ok], option[ok]
    if small:
        order = np.lexsort((-v, c))
    else:
        order = np.asarray(sorted(range(len(c)), key=lambda s: (c[s], -v[s])), dtype=np.intp)
    c, v, parent, option = c[order], v[order], parent[order], option[order]
    undominated = np.ones(len(v), dtype=bool)
    undominated[1:] = v[1:] > np.maximum.accumulate(v)[:-1]
    return c[undominated], v[undominated], parent[undominated], option[undominated]


def _lp(h: _Hulls, cap: float) -> tuple[float, float, int, float]:
    room = cap - h.base_cost
    taken = int(np.searchsorted(h.cum_dc, room, side="right"))
    value = h.base_value + (float(h.cum_dv[taken - 1]) if taken else 0.0)
    if taken < len(h.dc):
        done = float(h.cum_dc[taken - 1]) if taken else 0.0
        fraction = max((room - done) / float(h.dc[taken]), 0.0)
        return value + fraction * float(h.dv[taken]), float(h.slope[taken]), taken, fraction
    return value, 0.0, taken, 0.0


def _epsilon(inst: Instance, weighted_cap: float) -> float:
    """A bound on the float error of the Lagrangian figures (sums of n terms)."""
    n = inst.n_items + 8
    size = inst.value_scale + weighted_cap + abs(float(np.abs(inst.values).max(initial=0.0)))
    return 8 * n * _FLOAT * size + 1e-300


def _item_choice(inst: Instance, layer_choice: np.ndarray) -> np.ndarray:
    if inst.layer_item is None:
        return np.asarray(layer_choice, dtype=np.intp)
    out = np.zeros(inst.n_items, dtype=np.intp)
    out[inst.layer_item] = layer_choice
    return out


def _build_hulls(costs: np.ndarray, values: np.ndarray, allowed: np.ndarray) -> _Hulls:
    """Each item's options reduced to the upper convex hull of (use, value), as increments
    sorted by slope: a monotone chain per item, vectorised over items. Items whose uses fall
    somewhere along their options (formats: a 4-bit format with 4-bit activations costs fewer
    BOPs than one with 16-bit activations) have their options sorted by use first."""
    rows = np.arange(costs.shape[0])
    unordered = (np.diff(costs, axis=1) < 0).any(axis=1)
    stack, size = _monotone_hulls(costs, values, allowed, unordered)
    _sorted_hulls(costs, values, allowed, np.flatnonzero(unordered), stack, size)
    base = stack[:, 0].copy()
    layer, frm, to = _hull_increments(stack, size)
    dc = costs[layer, to] - costs[layer, frm]
    dv = values[layer, to] - values[layer, frm]
    with np.errstate(over="ignore", divide="ignore"):
        slope = dv / dc if len(dc) else np.zeros(0)
    order = np.lexsort((np.arange(len(dc)), -slope))
    layer, frm, to = layer[order], frm[order], to[order]
    dc, dv, slope = dc[order], dv[order], slope[order]
    return _Hulls(
        base=base,
        layer=layer,
        frm=frm,
        to=to,
        dc=dc,
        dv=dv,
        slope=slope,
        cum_dc=np.cumsum(dc),
        cum_dv=np.cumsum(dv),
        base_value=math.fsum(values[rows, base].tolist()),
        base_cost=math.fsum(costs[rows, base].tolist()),
    )


def _monotone_hulls(
    costs: np.ndarray, values: np.ndarray, allowed: np.ndarray, unordered: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(stack, size): the hull options of every item not ``unordered`` (its uses never fall
    along the ladder), ``stack[i, :size[i]]`` in order of use; a monotone chain over the
    options, one option for all items at a time. The ``unordered`` items are left empty."""
    n, k = costs.shape
    stack = np.full((n, k), -1, dtype=np.intp)
    size = np.zeros(n, dtype=np.intp)
    rows = np.arange(n)
    c, v = costs, values
    for j in range(k):
        cand = allowed[:, j] & ~unordered
        top = stack[rows, np.maximum(size - 1, 0)]
        has = size > 0
        cand &= ~(has & (v[:, j] <= v[rows, top]))  # uses as much or more, worth no more
        same = cand & has & (c[:, j] == c[rows, top])
        size[same] -= 1  # same use, worth more
        while True:
            two = cand & (size >= 2)
            a = stack[rows, np.maximum(size - 2, 0)]
            b = stack[rows, np.maximum(size - 1, 0)]
            pop = two & (
                (v[rows, b] - v[rows, a]) * (c[:, j] - c[rows, b])
                <= (v[:, j] - v[rows, b]) * (c[rows, b] - c[rows, a])
            )
            if not pop.any():
                break
            size[pop] -= 1
        stack[rows[cand], size[cand]] = j
        size[cand] += 1
    return stack, size


def _hull_increments(
    stack: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(item, from option, to option) of every step between consecutive hull options,
    ordered by item, then along the item's hull."""
    n, k = stack.shape
    rows = np.arange(n)
    pairs = [(rows[size > t + 1], t) for t in range(k - 1)]
    layer = np.concatenate([r for r, _ in pairs]) if pairs else np.zeros(0, dtype=np.intp)
    frm = np.concatenate([stack[r, t] for r, t in pairs]) if pairs else layer
    to = np.concatenate([stack[r, t + 1] for r, t in pairs]) if pairs else layer
    order_items = (
        np.lexsort((np.concatenate([np.full(len(r), t) for r, t in pairs]), layer))
        if pairs
        else layer
    )
    return layer[order_items], frm[order_items], to[order_items]


def _sorted_hulls(
    costs: np.ndarray,
    values: np.ndarray,
    allowed: np.ndarray,
    items: np.ndarray,
    stack: np.ndarray,
    size: np.ndarray,
) -> None:
    """Fill ``stack`` and ``size`` for ``items``: each item's options sorted by use (the best
    value first among equal uses, then by index), the monotone chain over them, the hull
    mapped back to option indices."""
    if not items.size:
        return
    perm = np.lexsort((-values[items], costs[items]), axis=-1)
    hull, count = _monotone_hulls(
        np.take_along_axis(costs[items], perm, 1),
        np.take_along_axis(values[items], perm, 1),
        np.take_along_axis(allowed[items], perm, 1),
        np.zeros(items.size, dtype=bool),
    )
    stack[items] = np.where(hull >= 0, np.take_along_axis(perm, np.maximum(hull, 0), 1), -1)
    size[items] = count
