"""An allocation that meets every limit from one that nearly does: the exact solver's first
incumbents under several limits.

A rounded LP solution can be over a limit when the options of a layer are not ordered in every
resource at once (a format pair such as NVFP4, 4.5 bits per weight at 4-bit activations, and
INT4 with a group of 128, 4.125 bits at 16-bit activations: each is the cheaper in one limit).
:func:`repaired` then moves layers to the options that bring the limits that are over back
the most per unit of value lost (in rounds: each layer's best move, in that order, as many as
the excess needs), never putting another limit over, and then spends what room is left on the
upgrades of largest gain that still fit. Every test of "fits"
is exact (``Instance.fits``); the float sums only rank the moves. It is a heuristic for a good
incumbent: the proof never depends on it.
"""

from __future__ import annotations

import numpy as np

from .deadline import Deadline
from .instance import Instance

_MOVES = 16  # rounds of moves to bring an allocation within its limits, at most
_UPGRADES = 64  # upgrades spending the room left, at most
_CANDIDATES = 20_000  # moves looked at in a round, at most
_TRIES = 8  # ... each the first of the largest gains that fits exactly


def repaired(
    inst: Instance, choice: np.ndarray, deadline: Deadline | None = None
) -> np.ndarray | None:
    """``choice`` brought within every limit and then filled; None when the moves run out
    (or ``deadline`` passes first: each round costs about 20 ms on 100,000 layers)."""
    choice = np.asarray(choice, dtype=np.intp).copy()
    for _ in range(_MOVES):
        if inst.fits(choice):
            return _filled(inst, choice, deadline)
        if (deadline is not None and deadline.passed()) or not _move_back(inst, choice):
            return None
    return _filled(inst, choice, deadline) if inst.fits(choice) else None


def _uses(inst: Instance, choice: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per limit: each item's use now (R, m), and each option's use less that (R, m, k)."""
    items = np.arange(inst.n_items)
    now = np.stack([row[items, choice] for row in inst.rows])
    deltas = np.stack([row - now[r][:, None] for r, row in enumerate(inst.rows)])
    return now, deltas


def _move_back(inst: Instance, choice: np.ndarray) -> bool:
    """Moves that bring the limits over their caps back (in place): each item's best move
    (the least value lost per unit of the excess it removes), taken in that order while it
    puts no limit that is met over, until the excess is gone. False when no move helps."""
    now, deltas = _uses(inst, choice)
    caps = np.asarray(inst.caps, dtype=np.float64)
    totals = now.sum(axis=1)
    over = np.asarray([t > th for t, th in zip(inst.totals(choice), inst.thresholds, strict=True)])
    excess = np.where(over, np.maximum(totals - caps, np.abs(caps) * 1e-12 + 1e-300), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        progress = sum(
            np.minimum(np.maximum(-deltas[r], 0.0), excess[r]) / excess[r]
            for r in np.flatnonzero(over)
        )
        harm = np.zeros(inst.allowed.shape, dtype=bool)
        for r in np.flatnonzero(~over):
            harm |= totals[r] + deltas[r] > caps[r]
        items = np.arange(inst.n_items)
        loss = inst.values[items, choice][:, None] - inst.values
        score = np.where(inst.allowed & ~harm & (progress > 0), loss / progress, np.inf)
    option = np.argmin(score, axis=1)
    best = score[items, option]
    order = np.argsort(best, kind="stable")
    order = order[np.isfinite(best[order])]
    if not order.size:
        return False
    room = caps - totals  # negative for the limits over
    taken = []
    for item in order[:_CANDIDATES].tolist():
        step = deltas[:, item, option[item]]
        if np.any(step[~over] > room[~over]):
            continue  # it would put a limit that is met over
        room = room - step
        taken.append(item)
        if np.all(room[over] >= 0):
            break
    if not taken:
        return False
    choice[taken] = option[taken]
    return True


def _filled(inst: Instance, choice: np.ndarray, deadline: Deadline | None) -> np.ndarray:
    """The upgrades of largest gain that keep every limit met, one at a time."""
    for _ in range(_UPGRADES):
        if deadline is not None and deadline.passed():
            return choice
        now, deltas = _uses(inst, choice)
        room = np.asarray(inst.caps, dtype=np.float64) - now.sum(axis=1)
        fits = inst.allowed & np.all(deltas <= room[:, None, None], axis=0)
        gain = inst.values - inst.values[np.arange(inst.n_items), choice][:, None]
        gain = np.where(fits & (gain > 0), gain, -np.inf)
        flat_gain = gain.ravel()
        top = np.arange(flat_gain.size)
        if flat_gain.size > _TRIES:
            top = np.argpartition(flat_gain, -_TRIES)[-_TRIES:]
        for flat in top[np.argsort(flat_gain[top])[::-1]].tolist():
            if not np.isfinite(gain.flat[flat]):
                return choice
            item, option = divmod(flat, gain.shape[1])
            trial = choice.copy()
            trial[item] = option
            if inst.fits(trial):  # the float screen may admit a move the exact sums refuse
                choice = trial
                break
        else:
            return choice
    return choice
