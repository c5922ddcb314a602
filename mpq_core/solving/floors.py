"""The greedies' start under lower limits (``at_least``): raised until every floor is met.

A greedy starts each layer at its cheapest option, which meets every upper limit it can but
no lower one. Before its usual walk, while some lower limit is short, each item is offered
its best move for the floors still short: the move's progress (the share of each short
floor it covers, summed) over its price (the share of each upper limit's room it takes,
summed; a move that takes none is free). Moves are taken in decreasing order of that ratio,
one per item and pass and none that would break an upper limit, until the floors are met or no
move helps. Sums are exact
(``Instance.totals``); the result may still miss a floor or break an upper limit, which the
greedy then reports as it reports a start over a limit. A heuristic: the exact solver
decides what is possible.
"""

from __future__ import annotations

import numpy as np

from .instance import Instance

_FREE = 1e-12  # the price of a move that takes no room of any upper limit


def raised_start(inst: Instance, start: np.ndarray) -> tuple[np.ndarray, str]:
    """(:func:`meet_floors` of ``start``, and ``", raised to meet the lower limits"`` when
    that moved an item, else ""), for the greedies' account of where they start."""
    raised = meet_floors(inst, start)
    moved = not np.array_equal(raised, start)
    return raised, ", raised to meet the lower limits" if moved else ""


def meet_floors(inst: Instance, start: np.ndarray) -> np.ndarray:
    """``start`` with items moved until every lower limit is met (see the module docstring);
    ``start`` itself when there is no lower limit or it already meets them. Moves are
    ordered by progress over price first; when that leaves a floor short (small moves took
    the room a large one needed), by progress alone."""
    lower = [r for r, offset in enumerate(inst.offsets) if offset is not None]
    if not lower:
        return start
    first = start
    for by_progress in (False, True):
        choice = _raised(inst, start, lower, by_progress)
        if not _short(inst, choice, lower):
            return choice
        first = choice if not by_progress else first
    return first


def _short(inst: Instance, choice: np.ndarray, lower: list[int]) -> dict[int, int]:
    """Each lower limit still short at ``choice``: by how much (its solver's exact sum)."""
    totals = inst.totals(choice)
    short = {r: totals[r] - inst.thresholds[r] for r in lower}
    return {r: need for r, need in short.items() if need > 0}


def _raised(inst: Instance, start: np.ndarray, lower: list[int], by_progress: bool):
    choice = np.asarray(start, dtype=np.intp).copy()
    for _ in range(2 * inst.allowed.shape[1]):
        short = _short(inst, choice, lower)
        if not short:
            break
        moves = _best_moves(inst, choice, short, by_progress)
        if not moves:
            break
        choice = _apply(inst, choice, moves, inst.totals(choice), short)
    return choice


def _best_moves(
    inst: Instance, choice: np.ndarray, short: dict[int, int], by_progress: bool
) -> list[tuple]:
    """(item, option) of every helpful move, best ratio first (largest progress first, then
    best ratio, when ``by_progress``)."""
    m = inst.n_items
    rows = np.arange(m)
    progress = np.zeros(inst.allowed.shape)
    for r, need in short.items():
        use = inst.rows[r]
        cut = np.maximum(use[rows, choice][:, None] - use, 0.0)  # mirrored: less is better
        scale = inst.bounds[r].exact.to_float(need)
        progress += np.minimum(cut, scale) / max(scale, 1e-300)
    price = np.full(inst.allowed.shape, _FREE)
    for r, offset in enumerate(inst.offsets):
        if offset is not None:
            continue
        use = inst.rows[r]
        room = inst.caps[r] - float(use[rows, choice].sum())
        rise = np.maximum(use - use[rows, choice][:, None], 0.0)
        price += np.where(rise > 0, rise / room if room > 0 else np.inf, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(inst.allowed & (progress > 0), progress / price, -np.inf)
    items, options = np.nonzero(ratio > -np.inf)
    keys = (options, items, -ratio[items, options])
    if by_progress:
        keys = (*keys, -progress[items, options])
    order = np.lexsort(keys)
    return list(zip(items[order].tolist(), options[order].tolist(), strict=True))


def _apply(
    inst: Instance,
    choice: np.ndarray,
    moves: list[tuple],
    totals: list[int],
    short: dict[int, int],
) -> np.ndarray:
    """The moves in order, at most one per item, each while a floor it helps is still short
    (exact sums)."""
    out = choice.copy()
    totals = list(totals)
    moved = np.zeros(inst.n_items, dtype=bool)
    for i, j in moves:
        if all(totals[r] <= inst.thresholds[r] for r in short):
            break
        if moved[i]:
            continue
        was = int(out[i])
        if not any(inst.ints[r][i, j] < inst.ints[r][i, was] for r in short):
            continue
        pairs = zip(totals, inst.ints, strict=True)
        new = [t + int(ints[i, j]) - int(ints[i, was]) for t, ints in pairs]
        if any(
            new[r] > inst.thresholds[r] and new[r] > totals[r]
            for r, offset in enumerate(inst.offsets)
            if offset is None
        ):
            continue  # it would break an upper limit
        totals, out[i], moved[i] = new, j, True
    return out
