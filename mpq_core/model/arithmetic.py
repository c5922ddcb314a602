"""The one arithmetic for "fits": an allocation meets a limit when the correctly rounded sum
(``math.fsum``) of its per-layer values is at most the limit.

Every solver, re-check and export decides "fits" through this module, exactly. Each value of a
resource is a float ``m * 2**e``; all of them are integer multiples of ``q = 2**exponent``, the
largest power of two dividing every one. Sums are taken over those integers (int64 when they
cannot overflow, Python integers otherwise), so no rounding happens while solving. The limit
becomes the largest integer sum whose correctly rounded value is still at most the limit
(round half to even, as ``math.fsum`` rounds), so ``fits`` here and
``math.fsum(values) <= limit`` always agree.

Consequences: every layer at the top width fits a multiplier of 1.0; an allocation fits any
limit equal to its own ``math.fsum`` cost; no accumulation order can push a greedy over.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

_INT64_BITS = 62  # leave room for the sign and for sums of many values


@dataclass(frozen=True, eq=False)
class ExactValues:
    """A non-negative (n, k) float matrix as integers: ``values == ints * 2**exponent``."""

    ints: np.ndarray  # (n, k) int64, or object (Python int) when int64 could overflow
    exponent: int

    @property
    def is_int64(self) -> bool:
        return self.ints.dtype == np.int64

    def total(self, choice: np.ndarray) -> int:
        """The exact sum of ``values[i, choice[i]]`` as an integer multiple of ``2**exponent``."""
        picked = self.ints[np.arange(len(choice)), choice]
        return int(picked.sum()) if self.is_int64 else sum(picked.tolist())

    def to_float(self, total: int) -> float:
        """A sum of these integers as the correctly rounded float (what ``math.fsum`` gives)."""
        return _scale(total, self.exponent)

    def threshold(self, limit: float) -> int:
        """The largest integer sum whose correctly rounded float is at most ``limit``."""
        return threshold(limit, self.exponent)

    def floor_threshold(self, limit: float) -> int:
        """The smallest integer sum whose correctly rounded float is at least ``limit``."""
        return floor_threshold(limit, self.exponent)


def exact_values(values: np.ndarray) -> ExactValues:
    """Integers and a common power of two for a finite, non-negative float matrix."""
    a = np.asarray(values, dtype=np.float64)
    if a.size and (not np.isfinite(a).all() or (a < 0).any()):
        raise ValueError("exact_values needs finite, non-negative values")
    frac, exp2 = np.frexp(a)
    mant = np.ldexp(frac, 53).astype(np.int64)  # exact: at most 53 significant bits
    exp = exp2.astype(np.int64) - 53
    nonzero = mant != 0
    if not nonzero.any():
        return ExactValues(np.zeros(a.shape, dtype=np.int64), 0)
    low = mant & -mant  # lowest set bit
    trailing = np.zeros(a.shape, dtype=np.int64)
    trailing[nonzero] = np.log2(low[nonzero].astype(np.float64)).astype(np.int64)
    exponent = int((exp + trailing)[nonzero].min())
    shift = np.where(nonzero, exp - exponent, 0)  # >= -trailing: right shifts drop only zeros
    top_bits = int((np.where(nonzero, 53 + shift, 0)).max())
    headroom = max(a.shape[0], 1).bit_length() + 1
    if top_bits + headroom <= _INT64_BITS:
        ints = np.where(
            shift >= 0,
            np.left_shift(mant, np.maximum(shift, 0)),
            np.right_shift(mant, np.maximum(-shift, 0)),
        )
        return ExactValues(ints.astype(np.int64), exponent)
    flat = [
        (m << s) if s >= 0 else (m >> -s)
        for m, s in zip(mant.ravel().tolist(), shift.ravel().tolist(), strict=True)
    ]
    ints = np.empty(a.size, dtype=object)
    ints[:] = flat
    return ExactValues(ints.reshape(a.shape), exponent)


def threshold(limit: float, exponent: int) -> int:
    """The largest integer ``s`` with ``round(s * 2**exponent) <= limit`` (half to even).

    ``-1`` when even a sum of 0 is over the limit (a negative limit); a huge number for +inf.
    """
    if math.isnan(limit):
        raise ValueError("a limit cannot be NaN")
    if limit == math.inf:
        return 1 << 4096
    if limit < 0:
        return -1
    above = math.nextafter(limit, math.inf)
    step = Fraction(above) - Fraction(limit) if math.isfinite(above) else Fraction(math.ulp(limit))
    midpoint = (Fraction(limit) + step / 2) / Fraction(2) ** exponent
    whole = math.floor(midpoint)
    if whole == midpoint and not _even(limit):
        return whole - 1  # the midpoint rounds up to the next float: over the limit
    return whole


def floor_threshold(limit: float, exponent: int) -> int:
    """The smallest integer ``s`` with ``round(s * 2**exponent) >= limit`` (a lower limit):
    one above the largest whose rounded float is below ``limit``, since rounding is monotone.
    0 for a limit of 0 or less; a huge number for +inf (no sum reaches it)."""
    if math.isnan(limit):
        raise ValueError("a limit cannot be NaN")
    if limit == math.inf:
        return 1 << 4096
    return threshold(math.nextafter(limit, -math.inf), exponent) + 1


def fits(total: int, limit_threshold: int) -> bool:
    return total <= limit_threshold


def _even(x: float) -> bool:
    """True when the last bit of the float's significand is 0 (x >= 0)."""
    (bits,) = struct.unpack("<Q", struct.pack("<d", x))
    return bits & 1 == 0


def _scale(total: int, exponent: int) -> float:
    """``total * 2**exponent`` correctly rounded (exact ``Fraction`` division when needed)."""
    if exponent >= 0:
        return float(total << exponent) if total.bit_length() + exponent < 1024 else math.inf
    return float(Fraction(total, 1 << -exponent))
