"""What the solvers work on: the problem's items (a tie is one item) and its resolved limits.

Without ties an item is a layer and the arrays are the problem's own. A tie's layers become
one item whose value and resource use per option are the sums over its members (exact
integer sums for "fits"), so every solver keeps tied layers at one width by construction.

Every limit reaches the solvers as a cap on a sum (``rows``, ``ints``, ``thresholds``,
``caps``). A lower limit ``sum u >= L`` is handed over mirrored: each option's use becomes its
item's largest allowed use less its own (never negative), and the cap the sum of those
largest uses less ``L`` (``offsets`` keeps that sum, exactly), so ``sum (max - u) <= M - L``
holds exactly when ``sum u >= L`` does; the Bounds keep the limits as written, for reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..model.limits import Bound
from ..model.problem import Problem


@dataclass(frozen=True, eq=False)
class Instance:
    problem: Problem
    bounds: tuple[Bound, ...]
    layer_item: np.ndarray | None  # (n,) item of each layer; None when items are the layers
    values: np.ndarray  # (m, k)
    step_gains: np.ndarray  # (m, k)
    allowed: np.ndarray  # (m, k)
    rows: tuple[np.ndarray, ...]  # per bound: (m, k) float use
    ints: tuple[np.ndarray, ...]  # per bound: (m, k) exact integer use
    thresholds: tuple[int, ...]  # per bound: the largest integer sum that fits
    caps: tuple[float, ...]  # per bound: the cap on the float sums of ``rows``
    offsets: tuple[int | None, ...]  # per bound: a lower limit's M (exact), else None

    @property
    def n_items(self) -> int:
        return self.values.shape[0]

    @cached_property
    def lowest(self) -> np.ndarray:
        return np.argmax(self.allowed, axis=1)

    def expand(self, choice: np.ndarray) -> np.ndarray:
        """Item options -> layer options."""
        return choice if self.layer_item is None else choice[self.layer_item]

    def totals(self, choice: np.ndarray) -> list[int]:
        rows = np.arange(len(choice))
        out = []
        for ints in self.ints:
            picked = ints[rows, choice]
            out.append(int(picked.sum()) if picked.dtype == np.int64 else sum(picked.tolist()))
        return out

    def fits(self, choice: np.ndarray) -> bool:
        return all(t <= cap for t, cap in zip(self.totals(choice), self.thresholds, strict=True))

    def given_total(self, r: int, total: int) -> int:
        """Limit ``r``'s exact sum as written (not mirrored) from its solver's sum."""
        offset = self.offsets[r]
        return total if offset is None else offset - total

    def objective(self, choice: np.ndarray) -> float:
        return self.problem.objective_of(self.expand(choice))

    @cached_property
    def magnitudes(self) -> tuple[float, ...]:
        """Per limit, the size of its float sums (for error bounds): the cap, or for a
        mirrored lower limit its M when larger."""
        return tuple(
            abs(cap) if offset is None else max(abs(cap), bound.exact.to_float(offset))
            for cap, offset, bound in zip(self.caps, self.offsets, self.bounds, strict=True)
        )

    @cached_property
    def value_scale(self) -> float:
        return max(self.problem.value_scale, 1e-300)


def make_instance(problem: Problem, bounds: tuple[Bound, ...]) -> Instance:
    if not problem.ties:
        return Instance(
            problem=problem,
            bounds=bounds,
            layer_item=None,
            values=problem.values,
            step_gains=problem.step_gains,
            allowed=problem.allowed,
            **_limits_view(bounds, problem.allowed, [(b.values, b.exact.ints) for b in bounds]),
        )
    n = problem.n_layers
    first_of = np.arange(n)
    for tie in problem.ties:
        first_of[tie] = tie[0]
    heads = np.unique(first_of)  # sorted: items in file order of their first layer
    layer_item = np.searchsorted(heads, first_of)
    m = len(heads)

    def merged(matrix: np.ndarray) -> np.ndarray:
        out = np.zeros((m, *matrix.shape[1:]), dtype=matrix.dtype)
        if matrix.dtype == object:
            out[:] = 0
        np.add.at(out, layer_item, matrix)
        return out

    allowed = problem.allowed[heads]
    uses = [(merged(b.values), _merged_ints(b.exact.ints, layer_item, m)) for b in bounds]
    return Instance(
        problem=problem,
        bounds=bounds,
        layer_item=layer_item,
        values=merged(problem.values),
        step_gains=merged(problem.step_gains),
        allowed=allowed,
        **_limits_view(bounds, allowed, uses),
    )


def _limits_view(
    bounds: tuple[Bound, ...], allowed: np.ndarray, uses: list[tuple[np.ndarray, np.ndarray]]
) -> dict[str, tuple]:
    """The solvers' rows, ints, thresholds, caps and offsets: upper limits as they are, lower
    limits mirrored (see the module docstring)."""
    view: dict[str, list] = {"rows": [], "ints": [], "thresholds": [], "caps": [], "offsets": []}
    for bound, (rows, ints) in zip(bounds, uses, strict=True):
        if bound.lower:
            rows, ints, threshold, cap, offset = _mirrored(bound, allowed, rows, ints)
        else:
            threshold, cap, offset = bound.threshold, bound.cap, None
        for key, item in zip(view, (rows, ints, threshold, cap, offset), strict=True):
            view[key].append(item)
    return {key: tuple(items) for key, items in view.items()}


def _mirrored(
    bound: Bound, allowed: np.ndarray, rows: np.ndarray, ints: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, float, int]:
    """``sum u >= L`` as ``sum (max_i - u) <= M - L`` over the items' allowed options."""
    top = np.where(allowed, ints, -1).max(axis=1)
    offset = sum(top.tolist())  # Python ints: no overflow whatever the count
    if ints.dtype == object:
        mirrored = np.empty(ints.shape, dtype=object)
        pairs = zip(top.tolist(), ints.tolist(), strict=True)
        mirrored[:] = [[max(t - v, 0) for v in row] for t, row in pairs]
    else:
        mirrored = np.maximum(top[:, None] - ints, 0)
        if offset >= 1 << 62:  # int64 sums of the mirrored uses could overflow
            mirrored = mirrored.astype(object)
    top_rows = np.where(allowed, rows, -np.inf).max(axis=1)
    mirrored_rows = np.maximum(top_rows[:, None] - rows, 0.0)
    cap = math.fsum(top_rows.tolist()) - bound.cap
    return mirrored_rows, mirrored, offset - bound.threshold, cap, offset


def _merged_ints(ints: np.ndarray, layer_item: np.ndarray, m: int) -> np.ndarray:
    if ints.dtype == np.int64:
        bits = int(np.abs(ints).max()).bit_length() if ints.size else 0
        if bits + math.ceil(math.log2(max(len(layer_item), 2))) + 1 < 63:
            out = np.zeros((m, ints.shape[1]), dtype=np.int64)
            np.add.at(out, layer_item, ints)
            return out
    out = np.empty((m, ints.shape[1]), dtype=object)
    out[:] = 0
    for i, item in enumerate(layer_item.tolist()):
        for j in range(ints.shape[1]):
            out[item, j] = out[item, j] + int(ints[i, j])
    return out
