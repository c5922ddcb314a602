"""The cost model and the multiple-choice knapsack instance built from the loaded inputs.

Option j of a layer is weight width ``widths[j]`` with activation width ``abits[j]``
(rule ``plus4``: min(w + 4, 16); rule ``match``: w). Its cost is MACs x wbit x abit BOPs
and its value is the sensitivity recovered relative to the lowest width of the ladder:

- scalar scores s: the step from ``widths[j-1]`` to ``widths[j]`` gains s x discount**(j-1)
  (4->8 gains s, 8->16 gains 0.2 s with the default discount);
- per-bit losses L: option j is worth L(lowest) - L(widths[j]); a missing top width means 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .errors import InputError
from .loading import InputFile, Inputs, load_inputs

DEFAULT_WIDTHS = (4, 8, 16)
ABIT_RULES = ("plus4", "match")
GIGA = 1e9


def abit_for(wbit: int, rule: str) -> int:
    """Activation width that goes with a weight width under ``rule``."""
    if rule == "plus4":
        return min(wbit + 4, 16)
    if rule == "match":
        return wbit
    raise InputError("abit_rule", f"must be one of {', '.join(ABIT_RULES)}, not {rule!r}")


@dataclass(frozen=True, eq=False)
class Problem:
    """One knapsack instance: n layers x k options, plus its provenance."""

    inputs: Inputs
    widths: tuple[int, ...]
    abits: tuple[int, ...]
    abit_rule: str
    upgrade_discount: float
    pins: tuple[tuple[str, tuple[int, ...]], ...]
    costs: np.ndarray  # (n, k) BOPs
    values: np.ndarray  # (n, k) gain over the lowest width
    step_gains: np.ndarray  # (n, k) gain of the single step j-1 -> j (column 0 is 0)
    allowed: np.ndarray  # (n, k) bool, False where a pin forbids the width

    @property
    def names(self) -> tuple[str, ...]:
        return self.inputs.layers.names

    @property
    def types(self) -> tuple[str, ...]:
        return self.inputs.layers.types

    @property
    def macs(self) -> np.ndarray:
        return self.inputs.layers.macs

    @property
    def sensitivity(self) -> np.ndarray:
        """The per-layer score as given (scalar) or the loss at the lowest width (per-bit)."""
        return self.inputs.sensitivity.scores

    @property
    def n_layers(self) -> int:
        return len(self.names)

    @cached_property
    def lowest(self) -> np.ndarray:
        """Index of each layer's lowest allowed option."""
        return np.argmax(self.allowed, axis=1)

    @cached_property
    def min_cost(self) -> float:
        """BOPs with every layer at its lowest allowed width (pins respected)."""
        return self.cost_of(self.lowest)

    @cached_property
    def max_cost(self) -> float:
        """BOPs with every layer at the top width of the ladder: the budget's reference."""
        return math.fsum(self.costs[:, -1].tolist())

    @cached_property
    def max_objective(self) -> float:
        """The largest total gain any allocation can reach (no budget)."""
        best = np.where(self.allowed, self.values, -np.inf).max(axis=1)
        return math.fsum(best.tolist())

    @cached_property
    def pinned(self) -> np.ndarray:
        """True for layers with a pin."""
        return ~self.allowed.all(axis=1)

    def budget_for(self, multiplier: float) -> float:
        return float(multiplier) * self.max_cost

    def min_multiplier(self) -> float:
        """The smallest multiplier whose budget covers the all-lowest cost."""
        return self.min_cost / self.max_cost if self.max_cost > 0 else 0.0

    def cost_of(self, choice: np.ndarray) -> float:
        """BOPs of an allocation given as option indices (summed with exact rounding)."""
        return math.fsum(self.costs[np.arange(self.n_layers), choice].tolist())

    def objective_of(self, choice: np.ndarray) -> float:
        return math.fsum(self.values[np.arange(self.n_layers), choice].tolist())

    def index_of_width(self, width: int) -> int:
        return self.widths.index(width)


def build_problem(
    inputs: Inputs,
    *,
    bits: Iterable[int] | None = None,
    abit_rule: str = "plus4",
    upgrade_discount: float = 0.2,
    pins: Mapping[str, int | Iterable[int]] | None = None,
) -> Problem:
    """Turn aligned inputs and settings into a Problem (settings validated here)."""
    sens = inputs.sensitivity
    widths = _ladder(bits, sens.widths if sens.kind == "per_bit" else DEFAULT_WIDTHS)
    abits = tuple(abit_for(w, abit_rule) for w in widths)
    discount = _discount(upgrade_discount)
    n, k = len(inputs.layers.names), len(widths)

    if sens.kind == "scalar":
        steps = np.zeros((n, k))
        for j in range(1, k):
            steps[:, j] = sens.scores * discount ** (j - 1)
        values = np.cumsum(steps, axis=1)
    else:
        losses = _ladder_losses(inputs, widths)
        values = losses[:, :1] - losses
        steps = np.zeros((n, k))
        steps[:, 1:] = np.diff(values, axis=1)

    factors = np.array([w * a for w, a in zip(widths, abits, strict=True)], dtype=np.float64)
    costs = inputs.layers.macs[:, None] * factors[None, :]
    pin_items, allowed = _pins(pins, inputs.layers.names, widths)
    return Problem(
        inputs=inputs,
        widths=widths,
        abits=abits,
        abit_rule=abit_rule,
        upgrade_discount=discount,
        pins=pin_items,
        costs=costs,
        values=values,
        step_gains=steps,
        allowed=allowed,
    )


def load_problem(
    flops_path: str | Path | InputFile,
    sensitivity_path: str | Path | InputFile,
    *,
    on_mismatch: str = "error",
    bits: Iterable[int] | None = None,
    abit_rule: str = "plus4",
    upgrade_discount: float = 0.2,
    pins: Mapping[str, int | Iterable[int]] | None = None,
) -> Problem:
    """Read both files and build the Problem in one call."""
    inputs = load_inputs(flops_path, sensitivity_path, on_mismatch=on_mismatch)
    return build_problem(
        inputs, bits=bits, abit_rule=abit_rule, upgrade_discount=upgrade_discount, pins=pins
    )


def _ladder(bits: Iterable[int] | None, default: tuple[int, ...]) -> tuple[int, ...]:
    if bits is None:
        return tuple(default)
    widths = []
    for b in bits:
        if isinstance(b, bool) or not isinstance(b, int | np.integer) or b <= 0:
            raise InputError("bits", f"widths must be positive whole numbers, got {b!r}")
        widths.append(int(b))
    if not widths:
        raise InputError("bits", "the ladder needs at least one width")
    if len(set(widths)) != len(widths):
        raise InputError("bits", f"repeated width in {widths}")
    return tuple(sorted(widths))


def _discount(value: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError("upgrade_discount", f"not a number ({value!r})") from None
    if not math.isfinite(number) or number < 0:
        raise InputError("upgrade_discount", f"must be a finite number >= 0, got {value!r}")
    return number


def _ladder_losses(inputs: Inputs, widths: tuple[int, ...]) -> np.ndarray:
    """Per-bit losses on the ladder; a missing top width is 0, any other gap is an error."""
    sens = inputs.sensitivity
    n = len(sens.names)
    out = np.zeros((n, len(widths)))
    for j, width in enumerate(widths):
        top = j == len(widths) - 1
        if width in sens.widths:
            column = sens.losses[:, sens.widths.index(width)]
        else:
            column = np.full(n, np.nan)
        missing = np.isnan(column)
        if missing.any() and not top:
            layer = sens.names[int(np.argmax(missing))]
            ladder = "/".join(map(str, widths))
            raise InputError(
                sens.source,
                f"per-bit table has no width {width} (ladder {ladder}; "
                f"{int(missing.sum())} layer(s) lack it)",
                field="sensitivity",
                layer=layer,
            )
        out[:, j] = np.where(missing, 0.0, column)
    return out


def _pins(
    pins: Mapping[str, int | Iterable[int]] | None, names: tuple[str, ...], widths: tuple[int, ...]
) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], np.ndarray]:
    allowed = np.ones((len(names), len(widths)), dtype=bool)
    if not pins:
        return (), allowed
    index = {name: i for i, name in enumerate(names)}
    items = []
    ladder = "/".join(map(str, widths))
    for name, spec in pins.items():
        if name not in index:
            raise InputError("pins", "no such layer in the loaded files", layer=name)
        chosen = (spec,) if isinstance(spec, int | np.integer) else tuple(spec)
        if not chosen:
            raise InputError("pins", "no width given", layer=name)
        for width in chosen:
            if isinstance(width, bool) or not isinstance(width, int | np.integer):
                raise InputError("pins", f"width {width!r} is not a whole number", layer=name)
            if width not in widths:
                raise InputError("pins", f"width {width} is not in the ladder {ladder}", layer=name)
        row = np.array([w in chosen for w in widths])
        allowed[index[name]] = row
        items.append((name, tuple(sorted(int(w) for w in set(chosen)))))
    items.sort(key=lambda item: index[item[0]])
    return tuple(items), allowed
