"""What the solvers work on: the problem's items (a tie is one item) and its resolved limits.

Without ties an item is a layer and the arrays are the problem's own. A tie's layers become
one item whose value and resource use per option are the sums over its members (exact
integer sums for "fits"), so every solver keeps tied layers at one width by construction.
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

    def objective(self, choice: np.ndarray) -> float:
        return self.problem.objective_of(self.expand(choice))

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
            rows=tuple(b.values for b in bounds),
            ints=tuple(b.exact.ints for b in bounds),
            thresholds=tuple(b.threshold for b in bounds),
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

    return Instance(
        problem=problem,
        bounds=bounds,
        layer_item=layer_item,
        values=merged(problem.values),
        step_gains=merged(problem.step_gains),
        allowed=problem.allowed[heads],
        rows=tuple(merged(b.values) for b in bounds),
        ints=tuple(_merged_ints(b.exact.ints, layer_item, m) for b in bounds),
        thresholds=tuple(b.threshold for b in bounds),
    )


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
