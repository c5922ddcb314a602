"""How numbers read wherever mpq shows them: app cards, HTML reports, chart labels, CLI tables.

One function per kind of number, so a figure reads the same on every surface. The original
command-line report keeps its own ``12852.38 GBOPs`` form (:func:`original_gbops`) on purpose:
scripts parse it.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

GIGA = 1e9
MEBI = 2**20
GIBI = 2**30


def gbops(bops: float) -> str:
    """BOPs in GBOPs with a thousands separator: ``51,359.9 GBOPs``."""
    return f"{bops / GIGA:,.1f} GBOPs"


_BOPS_UNITS = ((1e9, "GBOPs"), (1e6, "MBOPs"), (1e3, "KBOPs"))


def bops(value: float) -> str:
    """BOPs in the largest unit (GBOPs, MBOPs, KBOPs) in which they are at least 1, two
    decimals: ``12,852.38 GBOPs``, ``3.52 MBOPs``, ``640.00 BOPs`` (a tiny model's figures
    never read ``0.00 GBOPs``)."""
    for size, unit in _BOPS_UNITS:
        if abs(value) >= size:
            return f"{value / size:,.2f} {unit}"
    return f"{value:,.2f} BOPs"


def original_gbops(bops: float) -> str:
    """BOPs as the original command-line report printed them: two decimals, no separators,
    ``12852.38 GBOPs``."""
    return f"{bops / GIGA:.2f} GBOPs"


def percent(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage, ``0.999 -> "99.9%"``; a tiny non-zero share reads
    ``<0.1%`` (with ``digits`` decimals the threshold is one unit of the last digit), never
    ``0.0%``; NaN reads ``n/a``."""
    if math.isnan(fraction):
        return "n/a"
    value = fraction * 100
    floor = 10.0**-digits
    if 0 < abs(value) < floor:
        return f"<{floor:.{digits}f}%" if value > 0 else f">-{floor:.{digits}f}%"
    return f"{value:.{digits}f}%"


def gap_percent(pct: float) -> str:
    """A solver gap given in percent, three significant digits: ``0.0312%``; ``0%`` when the
    greedy is optimal, ``<0.0001%`` below that, ``n/a`` when undefined."""
    if math.isnan(pct):
        return "n/a"
    if pct == 0:
        return "0%"
    if 0 < pct < 1e-4:
        return "<0.0001%"
    return f"{pct:.3g}%"


def bits_size(bits: float) -> str:
    """A weight memory given in bits, in MiB below a GiB and GiB above: ``1.21 GiB``."""
    size = bits / 8
    if size >= GIBI:
        return f"{size / GIBI:,.2f} GiB"
    return f"{size / MEBI:,.2f} MiB"


def mean_bits(bits: float) -> str:
    """A mean weight width: ``4.08 bits``."""
    return "n/a" if math.isnan(bits) else f"{bits:.2f} bits"


def objective_value(value: float) -> str:
    """An objective or sensitivity sum, six significant digits: ``105.045``, ``51,359.9``;
    ``n/a`` for NaN."""
    return "n/a" if math.isnan(value) else f"{value:,.6g}"


def decimal_multiplier(value: float, decimals: int = 6) -> str:
    """A multiplier with at least two and at most ``decimals`` decimals, no trailing zeros
    beyond two: ``0.125``, ``0.333334``, ``0.25``. Exact for a number that has at most
    ``decimals`` decimals (the infeasibility threshold)."""
    text = f"{value:.{decimals}f}".rstrip("0")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def significant(text: str, digits: int = 6) -> str:
    """A written number (a limit's value) with at most ``digits`` significant digits, in
    plain decimal notation: ``3.363527239150508 -> 3.36353``, ``0.5 -> 0.5``,
    ``1234567.8 -> 1234568``; text that is not a number is returned as it is."""
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite() or number == 0:
        return text
    exponent = number.adjusted()  # the power of ten of the first digit
    places = max(digits - 1 - exponent, 0)
    shown = f"{number.quantize(Decimal(1).scaleb(-places)):f}" if places else f"{number:.0f}"
    if "." in shown:
        shown = shown.rstrip("0").rstrip(".")
    return shown
