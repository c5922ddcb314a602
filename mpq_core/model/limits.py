"""Limits resolved against a problem: each becomes a cap on an exact sum of per-layer values.

A :class:`Bound` holds, for one limit, the resource's (n, k) values (zero outside the limit's
group), their exact integer form and the cap. An allocation meets it when ``math.fsum`` of its
values is at most ``cap`` (``arithmetic.py``); for ``mean_wbits`` the cap is the largest sum
of params x width whose mean (the sum divided by the scope's parameter count, rounded as a
float) is still at most the limit. A lower limit (``at_least``) is the mirror: its ``cap`` is
the floor, the smallest sum whose mean (or value) is still at least the limit, and an
allocation meets it when its sum is at least that. Reference points (x and r forms) respect
pins and ties.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from ..errors import InputError
from .arithmetic import ExactValues, exact_values
from .constraints import MEAN_RESOURCES, Form, Limit
from .problem import GIGA, Problem


@dataclass(frozen=True, eq=False)
class Bound:
    """One limit on one problem. Sums are in the resource's base unit (BOPs, bits, params x
    bits, the file's unit); ``scale`` turns them into the unit the limit is written in."""

    limit: Limit
    scope: np.ndarray  # (n,) bool
    values: np.ndarray  # (n, k), zero outside the scope
    exact: ExactValues
    cap: float  # the sum may not exceed this (base unit); a lower limit's floor
    threshold: int  # ``cap`` for the exact integer sums (the least that meets a floor)
    scale: float  # base unit per shown unit: 1e9 for GBOPs, the scope's params for mean_wbits
    unit: str
    low: float  # sum with every layer of the scope at its cheapest allowed option
    high: float  # ... at its dearest allowed option
    top: float  # ... at the top width of the ladder

    @property
    def resource(self) -> str:
        return self.limit.resource

    @property
    def shown_cap(self) -> float:
        """The limit in its written unit (GBOPs, bits, mean bits, the file's unit)."""
        return self.cap / self.scale

    @property
    def multiplier(self) -> float:
        """The cap as a fraction of the all-top-width value."""
        return self.cap / self.top if self.top > 0 else math.nan

    def use_of(self, choice: np.ndarray) -> float:
        """The allocation's sum (base unit, correctly rounded)."""
        return math.fsum(self.values[np.arange(len(choice)), choice].tolist())

    @property
    def lower(self) -> bool:
        """An ``at_least`` limit: the sum must reach ``cap``."""
        return self.limit.lower

    def fits(self, choice: np.ndarray) -> bool:
        total = self.exact.total(choice)
        return total >= self.threshold if self.lower else total <= self.threshold

    def describe(self) -> str:
        """``bops <= 0.5x (51,409.5 GBOPs)``, ``bpw >= 4.2 (4.2 bits)`` for messages."""
        return f"{self.limit.label()} ({_shown(self.shown_cap, self.unit)})"

    def with_limit(self, limit: Limit) -> Bound:
        """``limit`` (the same resource and group, another number or form) on the same problem:
        only the cap changes, the per-layer values and reference sums are this bound's."""
        if (limit.resource, limit.group) != (self.limit.resource, self.limit.group):
            raise ValueError(f"{limit.label()} is not a limit on {self.limit.label()}'s sum")
        cap = _cap(limit, self.low, self.high, self.top, self.scale)
        return replace(self, limit=limit, cap=cap, threshold=_threshold(self.exact, cap, limit))


class LimitResolver:
    """:func:`resolve_limit` for many limits on one problem (a sweep, a map): each resource
    and group is resolved once, each further number only sets the cap."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self._bases: dict[tuple[str, str | None], Bound] = {}
        self._bounds: dict[Limit, Bound] = {}

    def __call__(self, limit: Limit) -> Bound:
        found = self._bounds.get(limit)
        if found is None:
            base = self._bases.get((limit.resource, limit.group))
            if base is None:
                found = resolve_limit(self.problem, limit)
                self._bases[(limit.resource, limit.group)] = found
            else:
                found = base.with_limit(limit)
            self._bounds[limit] = found
        return found

    def all(self, limits: Iterable[Limit | Bound]) -> tuple[Bound, ...]:
        """Each limit resolved; a Bound (already resolved) as it is."""
        out = tuple(item if isinstance(item, Bound) else self(item) for item in limits)
        if not out:
            raise InputError("limits", "no limit given")
        return out


def resolve_limits(problem: Problem, limits: Iterable[Limit | Bound]) -> tuple[Bound, ...]:
    """Every limit as a Bound (unknown resources and groups are InputErrors); a Bound given
    is kept as it is."""
    return LimitResolver(problem).all(limits)


@dataclass(frozen=True)
class Reach:
    """What a resource sums to over a scope (base unit), before any limit is set on it."""

    low: float  # every layer of the scope at its cheapest allowed option
    high: float  # ... at its dearest allowed option
    top: float  # ... at the top width of the ladder
    scale: float  # base unit per shown unit
    unit: str

    @property
    def shown(self) -> tuple[float, float]:
        """(low, high) in the unit the limit is written in."""
        return self.low / self.scale, self.high / self.scale


def resolve_limit(problem: Problem, limit: Limit) -> Bound:
    scope, values = _scoped_values(problem, limit.resource, limit.group)
    reach = _reach(problem, limit, scope, values)
    cap = _cap(limit, reach.low, reach.high, reach.top, reach.scale)
    exact = exact_values(values)
    return Bound(
        limit=limit,
        scope=scope,
        values=values,
        exact=exact,
        cap=cap,
        threshold=_threshold(exact, cap, limit),
        scale=reach.scale,
        unit=reach.unit,
        low=reach.low,
        high=reach.high,
        top=reach.top,
    )


def limit_reach(problem: Problem, limit: Limit) -> Reach:
    """The range a limit on this resource and group can take, without resolving its number
    (a slider's range: no cap is computed for a value nobody asked for)."""
    scope, values = _scoped_values(problem, limit.resource, limit.group)
    return _reach(problem, limit, scope, values)


def _scoped_values(
    problem: Problem, resource: str, group: str | None
) -> tuple[np.ndarray, np.ndarray]:
    values_all = problem.resource(resource)
    scope = problem.group_mask(group)
    values = np.where(scope[:, None], values_all, 0.0)
    if (values < 0).any():
        raise InputError("limits", f"resource {resource!r} has negative values")
    return scope, values


def _reach(problem: Problem, limit: Limit, scope: np.ndarray, values: np.ndarray) -> Reach:
    masked_low = np.where(problem.allowed, values, np.inf).min(axis=1)
    masked_high = np.where(problem.allowed, values, -np.inf).max(axis=1)
    scale, unit = 1.0, problem.unit_of(limit.resource)
    if limit.resource == "bops":
        scale = GIGA
    elif limit.resource in MEAN_RESOURCES:
        scale = math.fsum(problem.params[scope].tolist())
        if not scale > 0:
            where = f"group {limit.group!r}" if limit.group else "the model"
            raise InputError(
                "limits",
                f"{limit.resource} of {where} is undefined: its layers have no parameters",
            )
    return Reach(
        low=math.fsum(masked_low.tolist()),
        high=math.fsum(masked_high.tolist()),
        top=math.fsum(values[:, -1].tolist()),
        scale=scale,
        unit=unit,
    )


def bops_bound(problem: Problem, budget: float, multiplier: float | None = None) -> Bound:
    """A BOPs budget given in BOPs (the solvers' ``budget=`` keyword): ``bops <= budget``."""
    if multiplier is None:
        multiplier = budget / problem.max_cost if problem.max_cost > 0 else 0.0
    base = resolve_limit(problem, Limit.budget(max(float(multiplier), 0.0)))
    cap = float(budget)
    return replace(base, cap=cap, threshold=base.exact.threshold(cap))


def caps_beside_floors(bounds: Iterable[Bound]) -> tuple[Bound, ...] | None:
    """The caps of limits that hold floors too (the solvers' first try: the caps alone allow
    every allocation the floors do); None when they are all caps or all floors."""
    bounds = tuple(bounds)
    caps = tuple(b for b in bounds if not b.lower)
    return caps if 0 < len(caps) < len(bounds) else None


def meets_floors(bounds: Iterable[Bound], choice: np.ndarray) -> bool:
    """Whether ``choice`` meets every lower limit among ``bounds``."""
    return all(b.fits(choice) for b in bounds if b.lower)


def _threshold(exact: ExactValues, cap: float, limit: Limit) -> int:
    """The exact integer form of ``cap``: the most an upper limit allows, the least a lower
    limit needs."""
    return exact.floor_threshold(cap) if limit.lower else exact.threshold(cap)


def _cap(limit: Limit, low: float, high: float, top: float, scale: float) -> float:
    """The cap in base units: x -> float(m) x top; r -> low + r (high - low), rounded once;
    absolute -> the written number in the shown unit. Past the largest float: +inf. For a
    mean, the largest sum whose mean is at most the value (the smallest whose mean is at
    least it, for a lower limit)."""
    mean_cap = _mean_floor if limit.lower else _mean_cap
    if limit.form is Form.TOP:
        m = float(limit.number)
        if limit.resource in MEAN_RESOURCES:
            return mean_cap(m * (top / scale), scale)
        return m * top
    if limit.form is Form.RANGE:
        r = Fraction(float(limit.number))
        if limit.resource in MEAN_RESOURCES:
            mean = Fraction(low / scale) + r * (Fraction(high / scale) - Fraction(low / scale))
            return mean_cap(_float(mean), scale)
        return _float(Fraction(low) + r * (Fraction(high) - Fraction(low)))
    if limit.resource in MEAN_RESOURCES:
        return mean_cap(_float(limit.number), scale)
    if limit.resource == "bops":
        return _float(limit.number * int(GIGA))
    return _float(limit.number)


def _float(value: Fraction) -> float:
    """``float(value)`` correctly rounded, +inf where it overflows (a limit of 1e300 GBOPs)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _mean_cap(mean: float, params: float) -> float:
    """The largest float sum S with float(S / params) <= mean (so "fits" is the mean's test).

    Division by a positive number is monotone in S, so S is found by bisection over the floats
    in their order: at most 64 steps whatever ``mean`` and ``params`` are (a mean of 0 over a
    billion parameters allows every sum below about params x 2**-1075, a walk of ~params/2
    floats one at a time)."""
    if math.isnan(mean) or mean == math.inf:
        return math.inf
    s = mean * params
    if not math.isfinite(s):
        return math.inf if s > 0 else -math.inf

    def fits(ordinal: int) -> bool:
        return _from_ordinal(ordinal) / params <= mean

    low, high = _ordinal(-math.inf), _ordinal(math.inf)  # fits(low); not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        if fits(middle):
            low = middle
        else:
            high = middle
    return _from_ordinal(low)


def _mean_floor(mean: float, params: float) -> float:
    """The smallest float sum S with float(S / params) >= mean (a lower limit's floor): the
    float after the largest sum whose mean is below ``mean``."""
    if math.isnan(mean) or mean == math.inf:
        return math.inf
    below = _mean_cap(math.nextafter(mean, -math.inf), params)
    return math.nextafter(below, math.inf) if below != math.inf else math.inf


def _ordinal(x: float) -> int:
    """The float's place in the order of all floats, as an integer (-0.0 and 0.0 are one)."""
    (bits,) = struct.unpack("<q", struct.pack("<d", x))
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def _from_ordinal(ordinal: int) -> float:
    bits = ordinal if ordinal >= 0 else (-ordinal) | -0x8000_0000_0000_0000
    (x,) = struct.unpack("<d", struct.pack("<q", bits))
    return x


def _shown(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "no limit"
    return f"{value:,.6g} {unit}".rstrip()


def as_bounds(
    problem: Problem,
    budget: float | None = None,
    multiplier: float | None = None,
    limits: Iterable[Limit | Bound] | None = None,
) -> tuple[Bound, ...]:
    """What a solver was asked: resolved limits, a BOPs ``budget`` (with its multiplier for
    display) or a BOPs ``multiplier`` alone."""
    if limits is not None:
        return resolve_limits(problem, limits)
    if budget is not None:
        return (bops_bound(problem, budget, multiplier),)
    if multiplier is not None:
        return resolve_limits(problem, [Limit.budget(float(multiplier), "m", "m")])
    raise TypeError("give limits, a budget or a multiplier")
