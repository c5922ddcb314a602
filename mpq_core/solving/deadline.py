"""One wall-clock deadline for a whole exact solve, and for a sweep's solves together.

The promise: a solve given ``time_limit`` seconds returns within that time plus
:func:`allowed_overrun` of it (0.5 s, or 10% of the limit when that is more). The solve makes
one :class:`Deadline` when it starts, before its limits are resolved, and every phase takes
that same object: set-up, bounds, the searches (which check it between bounded pieces of
work: an item of the Pareto search, 4,096 nodes of the branch and bound, one pass of the
multipliers) and every HiGHS call, which is given only the time left less what scipy and
HiGHS spend outside HiGHS's own clock (``milp.py``), or is skipped when too little is left.
Once it has passed, the solve stops where it is and returns its best allocation with a valid
bound, as "feasible" ("optimal" only when that allocation already reaches the bound).

What no check can cut short, and so counts against the margin: the set-up (resolving the
limits, the greedy: the incumbent every solve returns; together 0.4 to 2 s at 100,000 layers
with two limits on the 2-core machine, at load averages of 2 to 7), one piece of search work,
and HiGHS beyond its own time limit, which ``milp.py`` estimates and keeps out of the time
it gives.

The clock is injectable: tests drive a solve with a clock that runs out after a given number
of readings instead of waiting. Without one, ``time.monotonic`` is read (looked up at each
reading, so a test may also replace it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

Clock = Callable[[], float]

OVERRUN_SECONDS = 0.5  # a solve may end this much after its limit ...
OVERRUN_SHARE = 0.1  # ... or this share of the limit later, whichever is more


def allowed_overrun(time_limit: float) -> float:
    """How long after ``time_limit`` seconds a solve may still return."""
    return max(OVERRUN_SECONDS, OVERRUN_SHARE * time_limit)


@dataclass(frozen=True)
class Deadline:
    """The moment ``at`` on ``clock`` (``time.monotonic`` when None) by which work stops."""

    at: float
    clock: Clock | None = None

    @classmethod
    def after(cls, seconds: float, clock: Clock | None = None) -> Deadline:
        """The deadline ``seconds`` from now (0 for a negative number)."""
        start = cls(0.0, clock).now()
        return cls(start + max(float(seconds), 0.0), clock)

    def now(self) -> float:
        return (self.clock or time.monotonic)()

    def left(self) -> float:
        """Seconds until the deadline (negative once it has passed)."""
        return self.at - self.now()

    def passed(self) -> bool:
        return self.now() >= self.at

    def within(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now when that comes sooner."""
        return replace(self, at=min(self.at, self.now() + max(float(seconds), 0.0)))

    def share(self, fraction: float) -> Deadline:
        """A deadline for a phase that may use ``fraction`` of the time left."""
        now = self.now()
        return replace(self, at=now + max(self.at - now, 0.0) * fraction)
