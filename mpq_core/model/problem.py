"""The cost model and the multiple-choice knapsack instance built from the loaded inputs.

Option j of a layer is weight width ``widths[j]`` with activation width ``abits[j]``
(rule ``plus4``: min(w + 4, 16); rule ``match``: w). Its cost is MACs x (wbit x abit) BOPs,
one correctly rounded float product, and its value is the sensitivity recovered relative to
the lowest width of the ladder:

- scalar scores s: the step from ``widths[j-1]`` to ``widths[j]`` gains s x discount**(j-1)
  (4->8 gains s, 8->16 gains 0.2 s with the default discount);
- per-bit losses L (lower is better): option j is worth L(lowest) - L(widths[j]); a missing
  top width means a loss of 0;
- per-bit scores S (``"higher_is_better": true``: SQNR in dB, SSIM, accuracy): option j is
  worth S(widths[j]) - S(lowest); every width must be given.

Besides BOPs a problem knows the resources limits can cap: ``wbits`` (params x w, the weight
memory in bits), ``mean_wbits`` (its params-weighted mean over a scope) and any resource of a
resources file. Groups and ties are resolved here: a tie's layers keep only the widths all of
them allow.

With ``formats`` (``formats.py``) option j is format ``formats[j]`` (cheapest first): its
weight bits are ``widths[j]`` (widths may repeat), its activation bits ``abits[j]``, and its
value the loss recovered (or score gained) relative to option 0, from a per-format table.
Two more resources count the scales: ``bpw`` (the params-weighted mean of the effective bits
per weight over a scope) and ``weight_bytes`` (the weight memory, scales included).
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.loading import Inputs, check_losses, load_inputs
from ..io.reading import InputFile
from ..io.resources import ResourceTable
from .blocks import ModuleMap, module_map
from .constraints import BUILTIN_RESOURCES, FORMAT_RESOURCES, RESOURCE_UNITS, Constraints, Group
from .formats import Format
from .fused import fused_ties
from .spec import ABIT_RULES, DEFAULT_LADDER, Pin, Spec, pins_from_mapping

DEFAULT_WIDTHS = DEFAULT_LADDER
GIGA = 1e9
_SUGGESTIONS = 3


def abit_for(wbit: int, rule: str) -> int:
    """Activation width that goes with a weight width under ``rule``."""
    if rule == "plus4":
        return min(wbit + 4, 16)
    if rule == "match":
        return wbit
    raise InputError("abit_rule", f"must be one of {', '.join(ABIT_RULES)}, not {rule!r}")


@dataclass(frozen=True, eq=False)
class GroupMembers:
    """A group of the constraints with the layers it caught (first matching group wins)."""

    name: str
    patterns: tuple[str, ...]
    members: np.ndarray  # layer indices, file order


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
    allowed: np.ndarray  # (n, k) bool, False where a pin or a tie forbids the width
    spec: Spec = field(default_factory=Spec)
    sense: str = "scalar"  # "scalar", "loss" or "score"
    groups: tuple[GroupMembers, ...] = ()
    ties: tuple[np.ndarray, ...] = ()  # layer indices of each tie
    resource_table: ResourceTable | None = None
    formats: tuple[Format, ...] | None = None  # None: the options are plain widths

    @property
    def option_names(self) -> tuple[str, ...]:
        """Each option's name: the format's, else the width as text."""
        if self.formats is not None:
            return tuple(f.name for f in self.formats)
        return tuple(str(w) for w in self.widths)

    @property
    def option_labels(self) -> tuple[str, ...]:
        """Each option as reports and charts name it: the format's name, else ``4-bit``."""
        if self.formats is not None:
            return self.option_names
        return tuple(f"{w}-bit" for w in self.widths)

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
    def params(self) -> np.ndarray:
        return self.inputs.layers.params

    @property
    def sensitivity(self) -> np.ndarray:
        """The per-layer score as given (scalar) or the value at the lowest width (per-bit)."""
        return self.inputs.sensitivity.scores

    def module_map(self) -> ModuleMap:
        """The (module kind, block) cell of every layer (made once per list of names)."""
        return module_map(self.names)

    @property
    def n_layers(self) -> int:
        return len(self.names)

    @property
    def constraints(self) -> Constraints:
        return self.spec.constraints

    @cached_property
    def lowest(self) -> np.ndarray:
        """Index of each layer's lowest allowed option."""
        return np.argmax(self.allowed, axis=1)

    @cached_property
    def highest(self) -> np.ndarray:
        """Index of each layer's highest allowed option."""
        k = self.allowed.shape[1]
        return k - 1 - np.argmax(self.allowed[:, ::-1], axis=1)

    @cached_property
    def min_cost(self) -> float:
        """BOPs with every layer at its cheapest allowed option (pins respected): its lowest
        allowed width on a ladder, where BOPs grow with the width."""
        cheapest = np.where(self.allowed, self.costs, np.inf).min(axis=1)
        return math.fsum(cheapest.tolist())

    @cached_property
    def max_cost(self) -> float:
        """BOPs with every layer at the top width of the ladder: the budget's reference."""
        return math.fsum(self.costs[:, -1].tolist())

    @cached_property
    def max_objective(self) -> float:
        """The largest total gain any allocation can reach (no limit)."""
        best = np.where(self.allowed, self.values, -np.inf).max(axis=1)
        return math.fsum(best.tolist())

    @cached_property
    def value_scale(self) -> float:
        """Sum over layers of each layer's largest |gain|: the objective's natural size.

        "Optimal" means no allocation is better by more than 1e-9 of this."""
        return math.fsum(np.abs(np.where(self.allowed, self.values, 0.0)).max(axis=1).tolist())

    @cached_property
    def pinned(self) -> np.ndarray:
        """True for layers with a pin (or a tie) that removes a width."""
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

    # --- resources ---------------------------------------------------------------------------

    def resource_names(self) -> tuple[str, ...]:
        """Every resource a limit can cap on this problem."""
        extra = self.resource_table.names if self.resource_table is not None else ()
        formats = FORMAT_RESOURCES if self.formats is not None else ()
        return (*BUILTIN_RESOURCES, *formats, *extra)

    def unit_of(self, resource: str) -> str:
        if resource in RESOURCE_UNITS:
            return RESOURCE_UNITS[resource]
        if self.resource_table is not None and resource in self.resource_table.units:
            return self.resource_table.units[resource]
        return ""

    def resource(self, name: str) -> np.ndarray:
        """(n, k) per-layer, per-option values of a resource (mean_wbits: params x w bits)."""
        return self._resources(name)

    def _resources(self, name: str) -> np.ndarray:
        cache = self.__dict__.setdefault("_resource_cache", {})
        if name not in cache:
            cache[name] = self._build_resource(name)
        return cache[name]

    def _build_resource(self, name: str) -> np.ndarray:
        if name == "bops":
            return self.costs
        if name in ("wbits", "mean_wbits"):
            self._need_params(name)
            values = self.params[:, None] * np.asarray(self.widths, dtype=np.float64)[None, :]
            _check_finite(values, self.names, self.inputs.layers.source, "params x width")
            _check_total(values, self.inputs.layers.source)
            return values
        if name in FORMAT_RESOURCES and self.formats is not None:
            self._need_params(name)
            values = format_weight_bits(self.formats, self.inputs.layers)
            if name == "weight_bytes":
                values = values / 8
            _check_finite(values, self.names, self.inputs.layers.source, "weight bits")
            _check_total(values, self.inputs.layers.source)
            return values
        if self.resource_table is None or name not in self.resource_table.tables:
            known = ", ".join(self.resource_names())
            raise InputError(
                "limits",
                f"unknown resource {name!r} (known: {known}; others come from a resources file)",
            )
        options = self.option_names if self.formats is not None else self.widths
        values = self.resource_table.matrix(name, self.names, options)
        _check_finite(values, self.names, self.resource_table.source, name)
        _check_total(values, self.resource_table.source)
        return values

    def _need_params(self, name: str) -> None:
        missing = np.isnan(self.params)
        if missing.any():
            layer = self.names[int(np.argmax(missing))]
            raise InputError(
                self.inputs.layers.source,
                f"missing; a limit on {name} needs the parameter count of every layer "
                f"({int(missing.sum())} layer(s) lack it)",
                field="params",
                layer=layer,
            )

    def group_mask(self, group: str | None) -> np.ndarray:
        """True for the layers of ``group`` (every layer for None)."""
        mask = np.zeros(self.n_layers, dtype=bool)
        if group is None:
            mask[:] = True
            return mask
        for g in self.groups:
            if g.name == group:
                mask[g.members] = True
                return mask
        known = ", ".join(g.name for g in self.groups) or "none defined"
        raise InputError("limits", f"unknown group {group!r} (groups: {known})")

    def group_of(self) -> np.ndarray:
        """The group name of each layer ('' for layers no group catches)."""
        out = np.full(self.n_layers, "", dtype=object)
        for g in self.groups:
            out[g.members] = g.name
        return out


def build_problem(
    inputs: Inputs,
    spec: Spec | None = None,
    *,
    bits: Iterable[int] | None = None,
    abit_rule: str = "plus4",
    upgrade_discount: float = 0.2,
    pins: Mapping[str, int | Iterable[int]] | None = None,
    resources: ResourceTable | None = None,
) -> Problem:
    """Turn aligned inputs and a spec (or the keyword settings) into a Problem."""
    if spec is None:
        spec = Spec(
            ladder=None if bits is None else tuple(bits),
            abit_rule=abit_rule,
            upgrade_discount=upgrade_discount,
            pins=pins_from_mapping(pins),
        )
    sens = inputs.sensitivity
    if spec.formats is not None:
        return _format_problem(inputs, spec, resources)
    if sens.kind == "per_format":
        raise InputError(
            sens.source,
            "gives a loss per format: choose the formats to allocate (--formats, or formats in "
            "the settings)",
            field="sensitivity",
        )
    widths = spec.ladder or (sens.widths if sens.kind == "per_bit" else DEFAULT_WIDTHS)
    abits = tuple(abit_for(w, spec.abit_rule) for w in widths)
    discount = spec.upgrade_discount
    sense = _sense(sens, spec.sense)
    values, steps = _ladder_values(inputs, widths, discount, sense)
    costs = _bops(inputs, widths, abits)
    pin_items, allowed = _pins(spec.pins, inputs.layers.names, widths)
    groups = _groups(spec.constraints.groups, inputs.layers.names)
    ties = _ties(_all_ties(spec, inputs.layers.names), inputs.layers.names, widths, allowed)
    problem = Problem(
        inputs=inputs,
        widths=tuple(widths),
        abits=abits,
        abit_rule=spec.abit_rule,
        upgrade_discount=discount,
        pins=pin_items,
        costs=costs,
        values=values,
        step_gains=steps,
        allowed=allowed,
        spec=replace(spec.problem_key(), ladder=tuple(widths)),
        sense=sense,
        groups=groups,
        ties=ties,
        resource_table=resources,
    )
    return problem


def _ladder_values(
    inputs: Inputs, widths: tuple[int, ...], discount: float, sense: str
) -> tuple[np.ndarray, np.ndarray]:
    """(values, step gains) of every layer's options on the ladder ``widths``, by ``sense``
    (see the module docstring); a value that is not finite is an InputError naming its layer."""
    sens = inputs.sensitivity
    n, k = len(inputs.layers.names), len(widths)
    if sense == "scalar":
        steps = np.zeros((n, k))
        with np.errstate(over="ignore"):
            for j in range(1, k):
                steps[:, j] = sens.scores * discount ** (j - 1)
            values = np.cumsum(steps, axis=1)
    else:
        table = _ladder_table(inputs, widths, sense)
        steps = np.zeros((n, k))
        with np.errstate(over="ignore", invalid="ignore"):  # reported just below, by layer
            values = table[:, :1] - table if sense == "loss" else table - table[:, :1]
            steps[:, 1:] = np.diff(values, axis=1)
    _check_finite(values, inputs.layers.names, sens.source, "sensitivity gain")
    _check_total(values, sens.source)
    return values, steps


def _bops(inputs: Inputs, widths: tuple[int, ...], abits: tuple[int, ...]) -> np.ndarray:
    factors = np.array([w * a for w, a in zip(widths, abits, strict=True)], dtype=np.float64)
    with np.errstate(over="ignore"):  # an overflow is reported just below, with its layer
        costs = inputs.layers.macs[:, None] * factors[None, :]
    _check_finite(costs, inputs.layers.names, inputs.layers.source, "MACs x wbit x abit")
    _check_total(costs, inputs.layers.source)
    return costs


def _format_problem(inputs: Inputs, spec: Spec, resources: ResourceTable | None) -> Problem:
    """The instance whose options are ``spec.formats`` (cheapest first)."""
    formats = spec.formats
    widths = tuple(f.bits for f in formats)
    abits = tuple(f.activation_bits for f in formats)
    sense = _format_sense(inputs.sensitivity, spec.sense)
    table = _format_table(inputs, formats, sense)
    with np.errstate(over="ignore", invalid="ignore"):  # reported just below, by layer
        values = table[:, :1] - table if sense == "loss" else table - table[:, :1]
    _check_finite(values, inputs.layers.names, inputs.sensitivity.source, "sensitivity gain")
    _check_total(values, inputs.sensitivity.source)
    steps = np.zeros_like(values)
    steps[:, 1:] = np.diff(values, axis=1)
    names = inputs.layers.names
    pin_items, pinned = _pins(spec.pins, names, widths, formats)
    allowed = search_space_options(spec.search_spaces, formats, names)
    _check_pinned_spaces(allowed, pinned, names, formats)
    allowed &= pinned
    return Problem(
        inputs=inputs,
        widths=widths,
        abits=abits,
        abit_rule=spec.abit_rule,
        upgrade_discount=spec.upgrade_discount,
        pins=pin_items,
        costs=_bops(inputs, widths, abits),
        values=values,
        step_gains=steps,
        allowed=allowed,
        spec=spec.problem_key(),
        sense=sense,
        groups=_groups(spec.constraints.groups, names),
        ties=_ties(_all_ties(spec, names), names, widths, allowed),
        formats=formats,
        resource_table=resources,
    )


def search_space_options(
    spaces: tuple[tuple[str, tuple[str, ...]], ...],
    formats: tuple[Format, ...],
    names: tuple[str, ...],
) -> np.ndarray:
    """(n, k) the formats each layer may take: those of the first pattern it matches (every
    format for a layer no pattern matches). A layer with one format is fixed, and counts."""
    allowed = np.ones((len(names), len(formats)), dtype=bool)
    offered = [f.name for f in formats]
    free = np.ones(len(names), dtype=bool)
    for pattern, chosen in spaces:
        where = f"search_spaces.{pattern}"
        unknown = [c for c in chosen if c not in offered]
        if unknown:
            raise InputError(
                "search_spaces",
                f"format {unknown[0]!r} is not among the chosen formats ({', '.join(offered)})",
                field=where,
            )
        regex = re.compile(fnmatch.translate(pattern))
        hits = np.array([bool(free[i]) and bool(regex.match(n)) for i, n in enumerate(names)])
        if not hits.any():
            raise InputError("search_spaces", "matches no layer not matched before", field=where)
        allowed[hits] = np.isin(offered, chosen)
        free &= ~hits
    return allowed


def _format_sense(sens, override: str | None) -> str:
    if sens.kind != "per_format":
        kind = sens.kind.replace("_", "-")
        raise InputError(
            sens.source,
            f"gives {kind} sensitivity; formats need a loss (or score) per format for every "
            'layer, as {"layer": {"int4_g128": 0.012, "fp8": 0.003, ...}}',
            field="sensitivity",
        )
    sense = override or sens.sense
    if sense == "loss" and sens.higher_is_better:
        check_losses(sens.losses, sens.names, sens.formats, sens.source)
    return sense


def _format_table(inputs: Inputs, formats: tuple[Format, ...], sense: str) -> np.ndarray:
    """Per-format values in option order. A loss of the unquantized reference (16-bit float
    weights and activations) may be left out: it is 0. Any other gap is an error."""
    sens = inputs.sensitivity
    given = ", ".join(sens.formats)
    return _option_columns(
        sens,
        [sens.formats.index(f.name) if f.name in sens.formats else None for f in formats],
        [sense == "loss" and _is_reference(f) for f in formats],
        lambda j, count: (
            f"has no value for format {formats[j].name!r} ({count} layer(s) "
            f"lack it; the file gives {given})"
        ),
    )


def _is_reference(fmt: Format) -> bool:
    w = fmt.weight
    return w.type == "float" and w.bits == 16 and fmt.activation_bits == 16


def format_weight_bits(formats: tuple[Format, ...], layers) -> np.ndarray:
    """(n, k) weight memory in bits, scales included, of each layer at each format."""
    params, channels = layers.params, layers.out_channels
    columns = []
    for fmt in formats:
        if fmt.needs_channels and np.isnan(channels).any():
            i = int(np.argmax(np.isnan(channels)))
            raise InputError(
                layers.source,
                f"missing; format {fmt.name!r} has a scale per output channel, which needs the "
                "layer's output channels (out_channels, weight_shape or output_shape)",
                field="out_channels",
                layer=layers.names[i],
            )
        columns.append(fmt.weight_bits(params, channels))
    return np.stack(columns, axis=1)


def load_problem(
    flops_path: str | Path | InputFile,
    sensitivity_path: str | Path | InputFile,
    *,
    on_mismatch: str = "error",
    bits: Iterable[int] | None = None,
    abit_rule: str = "plus4",
    upgrade_discount: float = 0.2,
    pins: Mapping[str, int | Iterable[int]] | None = None,
    spec: Spec | None = None,
    resources: ResourceTable | None = None,
    name_prefix: str = "",
) -> Problem:
    """Read both files and build the Problem in one call."""
    ladder = spec.ladder if spec is not None else (None if bits is None else tuple(bits))
    inputs = load_inputs(
        flops_path, sensitivity_path, on_mismatch=on_mismatch, ladder=ladder,
        name_prefix=name_prefix,
    )  # fmt: skip
    return build_problem(
        inputs,
        spec,
        bits=bits,
        abit_rule=abit_rule,
        upgrade_discount=upgrade_discount,
        pins=pins,
        resources=resources,
    )


def with_spec(problem: Problem, spec: Spec) -> Problem:
    """The same inputs and resources under another spec (rebuilt only when it shapes them)."""
    key = spec.problem_key()
    if spec.formats is None:
        key = replace(key, ladder=spec.ladder or problem.widths)
    if key == problem.spec:
        return problem
    return build_problem(problem.inputs, spec, resources=problem.resource_table)


def _sense(sens, override: str | None) -> str:
    if sens.kind == "scalar":
        if override is not None:
            raise InputError(
                "sensitivity_sense",
                "applies to per-bit tables; a scalar score per layer is already the gain of "
                "upgrading that layer",
            )
        return "scalar"
    sense = override or sens.sense
    if sense == "loss" and sens.higher_is_better:
        check_losses(sens.losses, sens.names, sens.widths, sens.source)
    return sense


def _ladder_table(inputs: Inputs, widths: tuple[int, ...], sense: str) -> np.ndarray:
    """Per-bit values on the ladder. Losses: a missing top width is 0, any other gap is an
    error. Scores: every width must be given."""
    sens = inputs.sensitivity
    ladder = "/".join(map(str, widths))
    return _option_columns(
        sens,
        [sens.widths.index(w) if w in sens.widths else None for w in widths],
        [j == len(widths) - 1 and sense == "loss" for j in range(len(widths))],
        lambda j, count: (
            f"per-bit table has no width {widths[j]} (ladder {ladder}; {count} layer(s) lack it)"
        ),
    )


def _option_columns(sens, columns: list[int | None], may_miss: list[bool], problem) -> np.ndarray:
    """(n, k) the table's column of each option (None: absent), 0 where a value is missing and
    may be (``may_miss``); any other gap is an error (``problem(j, count)`` says it) naming
    the first layer that lacks it."""
    n = len(sens.names)
    out = np.zeros((n, len(columns)))
    for j, c in enumerate(columns):
        column = sens.losses[:, c] if c is not None else np.full(n, np.nan)
        missing = np.isnan(column)
        if missing.any() and not may_miss[j]:
            raise InputError(
                sens.source,
                problem(j, int(missing.sum())),
                field="sensitivity",
                layer=sens.names[int(np.argmax(missing))],
            )
        out[:, j] = np.where(missing, 0.0, column)
    return out


def _check_finite(values: np.ndarray, names: tuple[str, ...], source: str, what: str) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argwhere(bad)[0][0])
        raise InputError(
            source, f"{what} overflows (infinite); the numbers are too large", layer=names[i]
        )


def _check_total(values: np.ndarray, source: str) -> None:
    """Sums over layers must stay finite (``math.fsum`` raises on an intermediate overflow)."""
    with np.errstate(over="ignore"):
        total = np.abs(values).max(axis=1).sum() * 2
    if not np.isfinite(total):
        raise InputError(
            source, "the totals over all layers overflow (infinite); the numbers are too large"
        )


def _pins(
    pins: tuple[Pin, ...],
    names: tuple[str, ...],
    widths: tuple[int, ...],
    formats: tuple[Format, ...] | None = None,
) -> tuple[tuple[tuple[str, tuple[int, ...]], ...], np.ndarray]:
    """The pins, in file order, and the (n, k) options they leave each layer: a pin's widths
    are the ladder's, or with formats the weight bits of the formats it allows (``8``: fp8,
    int8, w8a8 among the chosen ones)."""
    allowed = np.ones((len(names), len(widths)), dtype=bool)
    if not pins:
        return (), allowed
    index = {name: i for i, name in enumerate(names)}
    items = []
    for pin in pins:
        if pin.layer not in index:
            raise InputError("pins", _unknown_layer(pin.layer, names), layer=pin.layer)
        for width in pin.widths:
            if width not in widths:
                raise InputError("pins", _no_option(width, widths, formats), layer=pin.layer)
        allowed[index[pin.layer]] = np.array([w in pin.widths for w in widths])
        items.append((pin.layer, pin.widths))
    items.sort(key=lambda item: index[item[0]])
    return tuple(items), allowed


def _no_option(width: int, widths: tuple[int, ...], formats: tuple[Format, ...] | None) -> str:
    if formats is None:
        return f"width {width} is not in the ladder {'/'.join(map(str, widths))}"
    shown = ", ".join(f"{f.name} {f.bits}" for f in formats)
    return f"no chosen format has {width}-bit weights (the formats and their bits: {shown})"


def _check_pinned_spaces(
    spaces: np.ndarray, pinned: np.ndarray, names: tuple[str, ...], formats: tuple[Format, ...]
) -> None:
    """A layer whose pin and search space share no format is an error naming both."""
    empty = np.flatnonzero(~(spaces & pinned).any(axis=1))
    if empty.size:
        i = int(empty[0])
        space = ", ".join(f.name for f, ok in zip(formats, spaces[i], strict=True) if ok)
        bits = sorted({f.bits for f, ok in zip(formats, pinned[i], strict=True) if ok})
        raise InputError(
            "pins",
            f"the pin to {'/'.join(map(str, bits))} bits leaves none of the layer's search "
            f"space ({space})",
            layer=names[i],
        )


def _groups(groups: tuple[Group, ...], names: tuple[str, ...]) -> tuple[GroupMembers, ...]:
    """Assign each layer to the first group (in file order) one of whose patterns matches it."""
    if not groups:
        return ()
    owner = np.full(len(names), -1, dtype=np.intp)
    for g, group in enumerate(groups):
        regex = re.compile("|".join(fnmatch.translate(p) for p in group.patterns))
        free = owner < 0
        for i in np.flatnonzero(free).tolist():
            if regex.match(names[i]):
                owner[i] = g
    out = []
    for g, group in enumerate(groups):
        members = np.flatnonzero(owner == g)
        if members.size == 0:
            earlier = any(
                re.match("|".join(fnmatch.translate(p) for p in group.patterns), n) for n in names
            )
            why = (
                "every layer it matches belongs to an earlier group"
                if earlier
                else "its patterns match no layer of the loaded files"
            )
            raise InputError(
                "constraints", f"group catches no layer: {why}", field=f"groups.{group.name}"
            )
        out.append(GroupMembers(group.name, group.patterns, members))
    return tuple(out)


def _all_ties(spec: Spec, names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The constraints' ties, and with ``tie_fused`` each set of fused layers after them."""
    return spec.constraints.ties + (fused_ties(names) if spec.tie_fused else ())


def _ties(
    ties: tuple[tuple[str, ...], ...],
    names: tuple[str, ...],
    widths: tuple[int, ...],
    allowed: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Merge ties that share a layer; keep, for each, only the widths every member allows."""
    if not ties:
        return ()
    index = {name: i for i, name in enumerate(names)}
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for t, tie in enumerate(ties):
        for name in tie:
            if name not in index:
                raise InputError(
                    "ties", _unknown_layer(name, names), field=f"ties[{t}]", layer=name
                )
        first = root(index[tie[0]])
        for name in tie[1:]:
            parent[root(index[name])] = first
    members: dict[int, list[int]] = {}
    for name in {n for tie in ties for n in tie}:
        i = index[name]
        members.setdefault(root(i), []).append(i)
    out = []
    for group in sorted((sorted(m) for m in members.values()), key=lambda m: m[0]):
        common = allowed[group].all(axis=0)
        if not common.any():
            shown = ", ".join(
                f"{names[i]} ({_allowed_text(widths, allowed[i])})" for i in group[:4]
            )
            raise InputError(
                "ties",
                f"the tied layers share no allowed width: {shown}",
                layer=names[group[0]],
            )
        allowed[group] = common
        out.append(np.asarray(group, dtype=np.intp))
    return tuple(out)


def _allowed_text(widths: tuple[int, ...], row: np.ndarray) -> str:
    return "/".join(str(w) for w, ok in zip(widths, row, strict=True) if ok)


def _unknown_layer(name: str, names: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=_SUGGESTIONS, cutoff=0.75)
    hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
    return f"no such layer in the loaded files{hint}"
