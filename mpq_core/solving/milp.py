"""HiGHS (through scipy) for what the exact fast path does not cover: several limits, and cores
whose Pareto states explode.

Numerics. HiGHS stops at an absolute gap of about 1e-6 that scipy cannot change, and its
feasibility tolerance lets a row exceed its right-hand side slightly. So the objective is
rescaled to a total size of 1e6 (the absolute stop is then 1e-12 of the objective's scale,
whatever its unit: losses of 1e-9 or sums of dB), every row to a largest coefficient of 1, and
every answer is re-checked exactly; an answer over a limit is re-solved with that row
tightened by the overshoot, and is then reported as feasible, not proven.

Time. HiGHS checks its ``time_limit`` only at certain points, and some of its work between
them grows faster than the model: presolve (and the presolve of the sub-MIPs that its RINS,
RENS and root reduced-cost heuristics solve) on a knapsack row of thousands of near-equal
coefficients ran 95-160 s for limits of 1.1-1.9 s on a 40,000-column core (20,000 layers). At
a few thousand columns they are what makes the solve quick: 794 layers x 8 formats (6,352
columns, two limits) took 15.9 s without them and 0.9 s with them, within every time limit of
benchmarks/bench_time_limit.py. A MILP of more than ``_FULL_HIGHS_COLUMNS`` columns so runs
without presolve and without those
heuristics (nor the feasibility jump, which ran 0.5 s there before HiGHS first read its
clock). What is left unchecked grows with the model (:func:`unchecked_seconds`): scipy's
set-up and read-back, HiGHS's MIP set-up and root work, up to 60 us per MILP column measured
on the 2-core machine at a load average of 5 (a 40,000-column core given 0.83 s ran 3.2 s);
and the MILP's root LP, which HiGHS does not stop at its limit either and which grows about
with the square of the size (1 s at 40,007 columns, 22 s at 200,745 given 8.7 s); about 2 us
per LP column for the LP relaxation, whose simplex does read the clock. Every call
(:func:`highs_seconds`) gets the time left on the solve's ``Deadline`` less that estimate
and ``_HIGHS_RESERVE``, and is skipped when less than ``_HIGHS_MIN_SECONDS`` would remain:
a core too large for the time left is never handed over. A skipped or cut-short call only
costs the proof: the caller keeps its incumbent and its own Lagrangian bound.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .deadline import Deadline
from .instance import Instance
from .rounding import repaired
from .search import approx_float

_OBJECTIVE_SIZE = 1e6
_OBJECTIVE_EXPONENT = math.frexp(_OBJECTIVE_SIZE)[1]  # 2**20, about 1e6
_REPAIR_TRIES = 3
_PROOF = 1e-9
_FEASIBILITY = 2e-7  # HiGHS's primal feasibility tolerance is 1e-7 (scaled rows)
_HIGHS_MIN_SECONDS = 0.02  # HiGHS is not called with less time than this
_HIGHS_RESERVE = 0.05  # seconds kept for re-checking HiGHS's answer exactly
_OUTSIDE_SECONDS_PER_COLUMN = 50e-6  # work no time limit covers, per MILP column (above)
_ROOT_LP_SECONDS, _ROOT_LP_COLUMNS = 25.0, 200_000  # ... and the root LP's, quadratic
_LP_OUTSIDE_SECONDS_PER_COLUMN = 5e-6  # ... per LP column (HiGHS's simplex reads its clock)
_FULL_HIGHS_COLUMNS = 8_000  # larger MILPs: no presolve, no sub-MIP heuristics
_LP_PRESOLVE_COLUMNS = 100_000  # larger LPs: no presolve (about 3 us a column, unchecked)
# larger LPs are not handed to HiGHS: its simplex overran a 10 s limit by 64 s on an LP of
# 800,000 columns (100,000 layers x 8 formats, two limits); the multipliers then come from the
# coordinate descent, which checks the deadline (exact.py)
_LP_MAX_COLUMNS = 400_000
_BOUNDED_MILP = {  # HiGHS options scipy passes on verbatim (with a RuntimeWarning)
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_root_reduced_cost": False,
    "mip_heuristic_run_feasibility_jump": False,
}


_QUIET_LOCK = threading.Lock()


def unchecked_seconds(columns: int) -> float:
    """The estimated time a MILP of ``columns`` variables takes beyond HiGHS's time limit."""
    root = _ROOT_LP_SECONDS * (columns / _ROOT_LP_COLUMNS) ** 2
    return columns * _OUTSIDE_SECONDS_PER_COLUMN + root


def highs_seconds(deadline: Deadline, unchecked: float) -> float | None:
    """The time limit of a HiGHS call whose work beyond its limit is estimated at
    ``unchecked`` seconds: the time left less that; None when too little would remain."""
    seconds = deadline.left() - _HIGHS_RESERVE - unchecked
    return seconds if seconds >= _HIGHS_MIN_SECONDS else None


def milp_options(seconds: float, columns: int) -> dict:
    """Exact gap, the time limit, and for a large MILP no presolve and no sub-MIPs."""
    full = columns <= _FULL_HIGHS_COLUMNS
    options = {"mip_rel_gap": 0.0, "presolve": full, "time_limit": seconds}
    return options if full else {**options, **_BOUNDED_MILP}


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS's C code prints debug lines on the process's stdout (file descriptor 1) that no
    option silences; they would corrupt the CLI's ``--json`` output. Point fd 1 at
    /dev/null while HiGHS runs. scipy's warning that it passes options it does not know to
    HiGHS verbatim (``_BOUNDED_MILP``, on purpose) is silenced for the same span."""
    with _QUIET_LOCK, warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Unrecognized options", RuntimeWarning)
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError, AttributeError):
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), 1)
                yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation: its value, the limits' multipliers (per base unit) and a rounding.
    ``value`` is +inf when HiGHS gave no answer in its time (or was not called)."""

    infeasible: bool
    value: float
    multipliers: tuple[float, ...]
    rounded: np.ndarray | None

    @property
    def solved(self) -> bool:
        return not self.infeasible and math.isfinite(self.value)


@dataclass(frozen=True)
class CoreOutcome:
    choice: np.ndarray | None  # an item choice that fits every limit exactly
    value: float
    proven: bool  # optimal over the core options given
    infeasible: bool  # HiGHS found that no core allocation fits
    dual_bound: float | None  # a bound on the core's optimum (unscaled)
    note: str


def solve_relaxation(inst: Instance, deadline: Deadline) -> Relaxation:
    """The LP relaxation by HiGHS, within ``deadline`` (no answer when it is too close)."""
    from scipy.optimize import linprog

    item, option = np.nonzero(inst.allowed)
    unsolved = Relaxation(False, math.inf, (0.0,) * len(inst.bounds), None)
    seconds = highs_seconds(deadline, len(item) * _LP_OUTSIDE_SECONDS_PER_COLUMN)
    if seconds is None or len(item) > _LP_MAX_COLUMNS:
        return unsolved
    values = inst.values[item, option]
    v_scale = 1.0 / max(float(np.abs(values).max(initial=0.0)), 1e-300)
    eq = sparse.csr_array(
        (np.ones(len(item)), (item, np.arange(len(item)))), shape=(inst.n_items, len(item))
    )
    rows, rhs, r_scales = [], [], []
    for r, cap in enumerate(inst.caps):
        coeff = inst.rows[r][item, option]
        scale = 1.0 / max(float(coeff.max(initial=0.0)), 1e-300)
        rows.append(coeff * scale)
        rhs.append(cap * scale if math.isfinite(cap) else 1e30)
        r_scales.append(scale)
    seconds = highs_seconds(deadline, len(item) * _LP_OUTSIDE_SECONDS_PER_COLUMN)
    if seconds is None:  # the model took what was left
        return unsolved
    with _quiet_stdout():
        result = linprog(
            -values * v_scale,
            A_ub=np.vstack(rows),
            b_ub=np.asarray(rhs),
            A_eq=eq,
            b_eq=np.ones(inst.n_items),
            bounds=(0, 1),
            method="highs",
            options={"time_limit": seconds, "presolve": len(item) <= _LP_PRESOLVE_COLUMNS},
        )
    if result.status == 2:
        return Relaxation(True, -math.inf, (0.0,) * len(inst.bounds), None)
    if result.x is None:
        return unsolved
    marginals = np.asarray(result.ineqlin.marginals, dtype=np.float64)
    multipliers = tuple(
        max(0.0, -float(mu) * s / v_scale) for mu, s in zip(marginals, r_scales, strict=True)
    )
    x = np.zeros(inst.allowed.shape)
    x[item, option] = result.x
    return Relaxation(
        False, float(-result.fun / v_scale), multipliers, _round_down(inst, x, deadline)
    )


def _round_down(inst: Instance, x: np.ndarray, deadline: Deadline) -> np.ndarray | None:
    """The LP solution made whole: each split item takes the option of its split that uses
    the least of every limit's room, then the splits are upgraded again while they fit. With
    uses that grow with the width this always fits: a basic LP solution splits at most one
    item per limit, so little value is lost. With options each cheaper in another limit (formats)
    it can be over one: it is then moved back (``rounding.repaired``; None when that fails)."""
    share = sum(inst.rows[r] / cap if cap > 0 else inst.rows[r] for r, cap in enumerate(inst.caps))
    used = inst.allowed & (x > 1e-9)
    low = np.argmin(np.where(used, share, np.inf), axis=1)
    high = np.argmax(np.where(used, x, -1.0), axis=1)
    choice = low.copy()
    if not inst.fits(choice):  # options not ordered in every limit at once: move some back
        return repaired(inst, choice, deadline)
    for i in np.flatnonzero(low != high).tolist():
        choice[i] = high[i]
        if not inst.fits(choice):
            choice[i] = low[i]
    return choice


def solve_core_milp(inst: Instance, keep: np.ndarray, deadline: Deadline) -> CoreOutcome:
    """The best allocation using only the ``keep`` options, by HiGHS, re-checked exactly.
    Nothing is built when ``deadline`` leaves HiGHS too little time for the core's size."""
    counts = keep.sum(axis=1)
    fixed_choice = np.argmax(keep, axis=1)
    free = np.flatnonzero(counts >= 2)
    if free.size == 0:
        if inst.fits(fixed_choice):
            return CoreOutcome(fixed_choice, inst.objective(fixed_choice), True, False, None,
                               "optimal: every layer fixed by its reduced cost")  # fmt: skip
        return CoreOutcome(None, -math.inf, True, True, None, "no core allocation fits")
    short = f"too little time left for HiGHS on the {len(free)} layers left after fixing"
    if highs_seconds(deadline, unchecked_seconds(int(counts[free].sum()))) is None:
        return CoreOutcome(None, -math.inf, False, False, None, short)
    model = _core_model(inst, keep, free, fixed_choice)
    _scipy_optimize()  # before the time left is read: the first import takes about 0.3 s
    dual: float | None = None
    for attempt in range(_REPAIR_TRIES + 1):
        seconds = highs_seconds(deadline, unchecked_seconds(model.nvar))
        if seconds is None:
            return CoreOutcome(None, -math.inf, False, False, dual, short)
        result = _run_milp(model, seconds)
        bound = getattr(result, "mip_dual_bound", None)
        if attempt == 0 and bound is not None and math.isfinite(bound):
            dual = model.fixed_value - model.unscaled(bound - 2e-6)
        if result.x is None:
            if result.status == 2:
                return CoreOutcome(None, -math.inf, True, True, None, "no core allocation fits")
            return CoreOutcome(None, -math.inf, False, False, dual,
                               f"HiGHS found no allocation ({result.message})")  # fmt: skip
        picked = result.x > 0.5
        choice = fixed_choice.copy()
        choice[model.var_global[picked]] = model.var_option[picked]
        over = [t - cap for t, cap in zip(inst.totals(choice), inst.thresholds, strict=True)]
        if all(o <= 0 for o in over):
            return _fitting_outcome(inst, model, choice, result.status == 0, attempt, dual)
        for r, o in enumerate(over):
            if o > 0:
                step = _to_float(o, model.exps[r]) * model.row_scales[r]
                room = model.rooms[r]
                model.rooms[r] = room - (step * (1 + 1e-9) + _FEASIBILITY * max(1.0, abs(room)))
    return CoreOutcome(None, -math.inf, False, False, dual,
                       "HiGHS's answers stayed over a limit; kept the incumbent")  # fmt: skip


@dataclass(frozen=True, eq=False)
class _CoreModel:
    """The core as HiGHS sees it: one binary per kept option of a free item, the objective
    (gains over the fixed choice) scaled to ``_OBJECTIVE_SIZE``, every limit's row scaled to a
    largest coefficient of 1; ``rooms`` is tightened in place by the repairs."""

    n_free: int
    var_item: np.ndarray
    var_option: np.ndarray
    var_global: np.ndarray
    gains: np.ndarray
    exponent: int  # the objective is gains x 2**exponent (a total size of about 1e6)
    rows: np.ndarray
    rooms: list[float]
    row_scales: list[float]
    exps: list[int]
    fixed_value: float

    @property
    def nvar(self) -> int:
        return len(self.var_item)

    def unscaled(self, objective: float) -> float:
        """An objective of HiGHS's model in the gains' unit. The scale is a power of two
        applied by ``ldexp``: exact, and finite for gains too small for 1e6 / their size."""
        return math.ldexp(objective, -self.exponent)


def _core_model(
    inst: Instance, keep: np.ndarray, free: np.ndarray, fixed_choice: np.ndarray
) -> _CoreModel:
    var_item, var_option = np.nonzero(keep[free])
    var_global = free[var_item]
    ref = inst.values[var_global, fixed_choice[var_global]]
    gains = inst.values[var_global, var_option] - ref
    per_item = np.zeros(len(free))
    np.maximum.at(per_item, var_item, np.abs(gains))
    size = float(per_item.sum())
    fixed_mask = np.ones(inst.n_items, dtype=bool)
    fixed_mask[free] = False
    base_totals = inst.totals(np.where(fixed_mask, fixed_choice, inst.lowest))
    rows, rooms, row_scales, exps = [], [], [], []
    for r, ints in enumerate(inst.ints):
        free_low = ints[free, inst.lowest[free]]
        low = int(free_low.sum()) if free_low.dtype == np.int64 else sum(free_low.tolist())
        exponent = inst.bounds[r].exact.exponent
        coeff = _as_floats(ints[var_global, var_option], exponent)
        s = 1.0 / max(float(coeff.max(initial=0.0)), 1e-300)
        rows.append(coeff * s)
        rooms.append(_to_float(inst.thresholds[r] - (base_totals[r] - low), exponent) * s)
        row_scales.append(s)
        exps.append(exponent)
    fixed_value = math.fsum(
        inst.values[np.flatnonzero(fixed_mask), fixed_choice[fixed_mask]].tolist()
    ) + math.fsum(ref[np.unique(var_item, return_index=True)[1]].tolist())
    return _CoreModel(
        n_free=len(free),
        var_item=var_item,
        var_option=var_option,
        var_global=var_global,
        gains=gains,
        exponent=_OBJECTIVE_EXPONENT - math.frexp(size)[1] if size > 0 else 0,
        rows=np.vstack(rows),
        rooms=rooms,
        row_scales=row_scales,
        exps=exps,
        fixed_value=fixed_value,
    )


def _scipy_optimize():
    import scipy.optimize

    return scipy.optimize


def _run_milp(model: _CoreModel, seconds: float):
    """One HiGHS run on the core with ``seconds`` of time limit."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    nvar = model.nvar
    eq = sparse.csr_array(
        (np.ones(nvar), (model.var_item, np.arange(nvar))), shape=(model.n_free, nvar)
    )
    with _quiet_stdout():
        return milp(
            -np.ldexp(model.gains, model.exponent),
            integrality=np.ones(nvar),
            bounds=Bounds(0, 1),
            constraints=[
                LinearConstraint(eq, 1, 1),
                LinearConstraint(model.rows, -np.inf, np.asarray(model.rooms)),
            ],
            options=milp_options(seconds, nvar),
        )


def _fitting_outcome(
    inst: Instance,
    model: _CoreModel,
    choice: np.ndarray,
    finished: bool,
    attempt: int,
    dual: float | None,
) -> CoreOutcome:
    """HiGHS's answer that fits every limit exactly; proven when HiGHS finished on the first
    try and its dual bound agrees."""
    value = inst.objective(choice)
    proven = finished and attempt == 0
    if proven and dual is not None:
        proven = dual - value <= _PROOF * inst.value_scale + model.unscaled(4e-6)
    if proven:
        note = f"optimal: {model.n_free} of {inst.n_items} layers solved by HiGHS after fixing"
    elif attempt == 0:
        note = "feasible: HiGHS stopped before proving its answer"
    else:
        note = f"feasible: re-solved {attempt} time(s) with limits tightened for HiGHS's tolerance"
    return CoreOutcome(choice, value, proven, False, dual, note)


def _to_float(total: int, exponent: int) -> float:
    return approx_float(total, exponent)


def _as_floats(ints: np.ndarray, exponent: int) -> np.ndarray:
    """``approx_float`` of every entry: at once for int64 (the same rounding: to nearest)."""
    if ints.dtype == np.int64:
        with np.errstate(over="ignore"):
            return np.ldexp(ints.astype(np.float64), exponent)
    return np.asarray([approx_float(v, exponent) for v in ints.tolist()], dtype=np.float64)
