"""HiGHS (through scipy) for what the exact fast path does not cover: several limits, and cores
whose Pareto states explode.

Numerics. HiGHS stops at an absolute gap of about 1e-6 that scipy cannot change, and its
feasibility tolerance lets a row exceed its right-hand side slightly. So the objective is
rescaled to a total size of 1e6 (the absolute stop is then 1e-12 of the objective's scale,
whatever its unit: losses of 1e-9 or sums of dB), every row to a largest coefficient of 1, and
every answer is re-checked exactly; an answer over a limit is re-solved with that row
tightened by the overshoot, and is then reported as feasible, not proven.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from .instance import Instance
from .search import approx_float

_OBJECTIVE_SIZE = 1e6
_REPAIR_TRIES = 3
_PROOF = 1e-9
_FEASIBILITY = 2e-7  # HiGHS's primal feasibility tolerance is 1e-7 (scaled rows)


_QUIET_LOCK = threading.Lock()


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """HiGHS's C code prints debug lines on the process's stdout (file descriptor 1) that no
    option silences; they would corrupt the CLI's ``--json`` output. Point fd 1 at
    /dev/null while HiGHS runs."""
    with _QUIET_LOCK:
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
    """The LP relaxation: its value, the limits' multipliers (per base unit) and a rounding."""

    infeasible: bool
    value: float
    multipliers: tuple[float, ...]
    rounded: np.ndarray | None


@dataclass(frozen=True)
class CoreOutcome:
    choice: np.ndarray | None  # an item choice that fits every limit exactly
    value: float
    proven: bool  # optimal over the core options given
    infeasible: bool  # HiGHS found that no core allocation fits
    dual_bound: float | None  # a bound on the core's optimum (unscaled)
    note: str


def solve_relaxation(inst: Instance, deadline: float) -> Relaxation:
    from scipy.optimize import linprog

    item, option = np.nonzero(inst.allowed)
    values = inst.values[item, option]
    v_scale = 1.0 / max(float(np.abs(values).max(initial=0.0)), 1e-300)
    eq = sparse.csr_array(
        (np.ones(len(item)), (item, np.arange(len(item)))), shape=(inst.n_items, len(item))
    )
    rows, rhs, r_scales = [], [], []
    for r, bound in enumerate(inst.bounds):
        coeff = inst.rows[r][item, option]
        scale = 1.0 / max(float(coeff.max(initial=0.0)), 1e-300)
        rows.append(coeff * scale)
        rhs.append(bound.cap * scale if math.isfinite(bound.cap) else 1e30)
        r_scales.append(scale)
    with _quiet_stdout():
        result = linprog(
            -values * v_scale,
            A_ub=np.vstack(rows),
            b_ub=np.asarray(rhs),
            A_eq=eq,
            b_eq=np.ones(inst.n_items),
            bounds=(0, 1),
            method="highs",
            options={"time_limit": max(deadline - time.monotonic(), 0.05), "presolve": True},
        )
    if result.status == 2:
        return Relaxation(True, -math.inf, (0.0,) * len(inst.bounds), None)
    if result.x is None:
        return Relaxation(False, math.inf, (0.0,) * len(inst.bounds), None)
    marginals = np.asarray(result.ineqlin.marginals, dtype=np.float64)
    multipliers = tuple(
        max(0.0, -float(mu) * s / v_scale) for mu, s in zip(marginals, r_scales, strict=True)
    )
    x = np.zeros(inst.allowed.shape)
    x[item, option] = result.x
    return Relaxation(False, float(-result.fun / v_scale), multipliers, _round_down(inst, x))


def _round_down(inst: Instance, x: np.ndarray) -> np.ndarray:
    """The LP solution made whole: each split item takes the option of its split that uses
    the least of every limit's room, then the splits are upgraded again while they fit. With
    uses that grow with the width this always fits: a basic LP solution splits at most one
    item per limit, so little value is lost."""
    share = sum(
        inst.rows[r] / bound.cap if bound.cap > 0 else inst.rows[r]
        for r, bound in enumerate(inst.bounds)
    )
    used = inst.allowed & (x > 1e-9)
    low = np.argmin(np.where(used, share, np.inf), axis=1)
    high = np.argmax(np.where(used, x, -1.0), axis=1)
    choice = low.copy()
    if not inst.fits(choice):
        return np.argmax(np.where(inst.allowed, x, -1.0), axis=1)
    for i in np.flatnonzero(low != high).tolist():
        choice[i] = high[i]
        if not inst.fits(choice):
            choice[i] = low[i]
    return choice


def solve_core_milp(inst: Instance, keep: np.ndarray, deadline: float) -> CoreOutcome:
    """The best allocation using only the ``keep`` options, by HiGHS, re-checked exactly."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    counts = keep.sum(axis=1)
    fixed_choice = np.argmax(keep, axis=1)
    free = np.flatnonzero(counts >= 2)
    if free.size == 0:
        if inst.fits(fixed_choice):
            return CoreOutcome(fixed_choice, inst.objective(fixed_choice), True, False, None,
                               "optimal: every layer fixed by its reduced cost")  # fmt: skip
        return CoreOutcome(None, -math.inf, True, True, None, "no core allocation fits")
    var_item, var_option = np.nonzero(keep[free])
    var_global = free[var_item]
    ref = inst.values[var_global, fixed_choice[var_global]]
    gains = inst.values[var_global, var_option] - ref
    per_item = np.zeros(len(free))
    np.maximum.at(per_item, var_item, np.abs(gains))
    size = float(per_item.sum())
    scale = _OBJECTIVE_SIZE / size if size > 0 else 1.0
    nvar = len(var_item)
    eq = sparse.csr_array((np.ones(nvar), (var_item, np.arange(nvar))), shape=(len(free), nvar))

    fixed_mask = np.ones(inst.n_items, dtype=bool)
    fixed_mask[free] = False
    base_choice = np.where(fixed_mask, fixed_choice, inst.lowest)
    base_totals = inst.totals(base_choice)
    rows, rooms, row_scales, exps = [], [], [], []
    for r, ints in enumerate(inst.ints):
        free_low = ints[free, inst.lowest[free]]
        low = int(free_low.sum()) if free_low.dtype == np.int64 else sum(free_low.tolist())
        room_int = inst.thresholds[r] - (base_totals[r] - low)
        exponent = inst.bounds[r].exact.exponent
        coeff = np.asarray(
            [approx_float(v, exponent) for v in ints[var_global, var_option].tolist()]
        )
        s = 1.0 / max(float(coeff.max(initial=0.0)), 1e-300)
        rows.append(coeff * s)
        rooms.append(_to_float(room_int, exponent) * s)
        row_scales.append(s)
        exps.append(exponent)
    fixed_value = math.fsum(
        inst.values[np.flatnonzero(fixed_mask), fixed_choice[fixed_mask]].tolist()
    ) + math.fsum(ref[np.unique(var_item, return_index=True)[1]].tolist())

    dual: float | None = None
    for attempt in range(_REPAIR_TRIES + 1):
        left = deadline - time.monotonic()
        if left <= 0:
            return CoreOutcome(None, -math.inf, False, False, dual, "time limit reached")
        with _quiet_stdout():
            result = milp(
                -gains * scale,
                integrality=np.ones(nvar),
                bounds=Bounds(0, 1),
                constraints=[
                    LinearConstraint(eq, 1, 1),
                    LinearConstraint(np.vstack(rows), -np.inf, np.asarray(rooms)),
                ],
                options={"mip_rel_gap": 0.0, "presolve": True, "time_limit": max(left, 0.05)},
            )
        bound = getattr(result, "mip_dual_bound", None)
        if attempt == 0 and bound is not None and math.isfinite(bound):
            dual = fixed_value - bound / scale + 2e-6 / scale
        if result.x is None:
            if result.status == 2:
                return CoreOutcome(None, -math.inf, True, True, None, "no core allocation fits")
            return CoreOutcome(None, -math.inf, False, False, dual,
                               f"HiGHS found no allocation ({result.message})")  # fmt: skip
        picked = result.x > 0.5
        choice = fixed_choice.copy()
        choice[var_global[picked]] = var_option[picked]
        totals = inst.totals(choice)
        over = [t - cap for t, cap in zip(totals, inst.thresholds, strict=True)]
        if all(o <= 0 for o in over):
            value = inst.objective(choice)
            proven = result.status == 0 and attempt == 0
            if proven and dual is not None:
                proven = dual - value <= _PROOF * inst.value_scale + 4e-6 / scale
            note = (
                f"optimal: {len(free)} of {inst.n_items} layers solved by HiGHS after fixing"
                if proven
                else "feasible: HiGHS stopped before proving its answer"
                if attempt == 0
                else f"feasible: re-solved {attempt} time(s) with limits tightened for "
                "HiGHS's tolerance"
            )
            return CoreOutcome(choice, value, proven, False, dual, note)
        for r, o in enumerate(over):
            if o > 0:
                step = _to_float(o, exps[r]) * row_scales[r]
                rooms[r] -= step * (1 + 1e-9) + _FEASIBILITY * max(1.0, abs(rooms[r]))
    return CoreOutcome(None, -math.inf, False, False, dual,
                       "HiGHS's answers stayed over a limit; kept the incumbent")  # fmt: skip


def _to_float(total: int, exponent: int) -> float:
    return approx_float(total, exponent)
