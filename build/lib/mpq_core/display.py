"""How numbers read wherever mpq shows them: app cards, HTML reports, chart labels, CLI tables.

One function per kind of number, so a figure reads the same on every surface. The original
command-line report keeps its own ``12852.38 GBOPs`` form (:func:`original_gbops`) on purpose:
scripts parse it.
"""

from __future__ import annotations

import math

GIGA = 1e9
MEBI = 2**20
GIBI = 2**30


def gbops(bops: float) -> str:
    """BOPs in GBOPs with a thousands separator: ``51,359.9 GBOPs``."""
    return f"{bops / GIGA:,.1f} GBOPs"


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
