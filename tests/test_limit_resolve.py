"""Resolving a limit takes the same few steps whatever its value and the model's size.

Regression: ``mean_wbits <= 0`` walked the floats one at a time from 0 up to about
params x 2**-1075 (half a billion steps for the SD 1.4 UNet: minutes), and any link whose first
limit was absolute made the app's sweep resolve that 0 before it looked at the closed-tab check.
Each test here runs under an alarm: on the old code it stops with ``Hung`` instead of holding the
suite for minutes. The alarm is a guard against a hang, not a speed measurement.
"""

from __future__ import annotations

import math
import signal
import subprocess
import sys
from contextlib import contextmanager

import pytest
from app_runs import ENTRY
from factory import make_problem
from streamlit.testing.v1 import AppTest
from support import REPO

from mpq_core.model.constraints import Limit
from mpq_core.model.limits import _mean_cap, limit_reach, resolve_limit

GUARD_SECONDS = 20


class Hung(Exception):
    pass


@contextmanager
def no_hang(seconds: int = GUARD_SECONDS):
    def _raise(signum, frame):
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, _raise)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


MEANS = [0.0, 5e-324, 1e-300, 2.2e-308, 0.1, 3.3, 6.0, 16.0, 1e300, 1.7e308]
PARAMS = [1.0, 3.0, 7.0, 8.6e8, 1e12, 2.0**60, 1e-300]


@pytest.mark.parametrize("mean", MEANS)
def test_the_mean_cap_is_the_largest_sum_whose_mean_fits(mean):
    """For every mean and parameter count: cap / params <= mean and the next float above the
    cap is over (or the cap is infinite when mean x params overflows)."""
    with no_hang():
        for params in PARAMS:
            cap = _mean_cap(mean, params)
            if math.isinf(cap):
                assert not math.isfinite(mean * params)
                continue
            assert cap / params <= mean, (mean, params, cap)
            assert math.nextafter(cap, math.inf) / params > mean, (mean, params, cap)


def test_the_mean_cap_of_a_negative_mean_is_negative():
    """No sum of non-negative values fits a negative mean (the threshold is -1)."""
    assert _mean_cap(-1.0, 3.0) == -3.0
    assert _mean_cap(-5e-324, 1e12) < 0


def _big_problem():
    """Three layers with a billion parameters each (the cap walk took ~params/2 steps)."""
    return make_problem([1e12, 2e12, 3e12], [1.0, 2.0, 3.0], params=[1e9, 2e9, 3e9])


FORMS = ["0", "0x", "0r", "5e-324", "1e-300x", "1e-300r", "1e300", "1e300x", "1r", "4.5"]


@pytest.mark.parametrize("resource", ["bops", "wbits", "mean_wbits"])
def test_every_form_at_zero_tiny_and_huge_values_resolves(resource):
    problem = _big_problem()
    with no_hang():
        for written in FORMS:
            bound = resolve_limit(problem, Limit(resource, written))
            cheapest = bound.exact.total(problem.allowed.argmax(axis=1))  # every layer at 4
            if written in ("0", "0x"):
                # nothing fits a limit of 0 on these layers (every value is positive)
                assert bound.threshold < cheapest
            if written == "0r":
                assert bound.threshold == cheapest  # 0r is the cheapest allocation's sum
            assert bound.cap >= 0


def test_the_slider_range_does_not_resolve_a_value():
    """What the app's sweep asks for its slider's range: the reach, with no cap."""
    problem = _big_problem()
    with no_hang():
        reach = limit_reach(problem, Limit("mean_wbits", "0"))
    assert reach.shown == (4.0, 16.0)
    bound = resolve_limit(problem, Limit("mean_wbits", "6"))
    assert (bound.low, bound.high, bound.top, bound.scale) == (
        reach.low,
        reach.high,
        reach.top,
        reach.scale,
    )


def test_the_command_line_answers_a_mean_limit_of_zero_at_once():
    """``--limit mean_wbits<=0`` (and ``0x``) on the SD 1.4 sample (860 M parameters):
    infeasible, said at once, not after minutes of stepping."""
    for written in ("mean_wbits<=0", "mean_wbits<=0x"):
        result = subprocess.run(
            [
                sys.executable,
                str(REPO / "main.py"),
                "--optimize_mixed_precision",
                "--limit",
                written,
                "--no_save",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 3, result.stderr  # the CLI's exit code for infeasible
        assert result.stderr == (
            f"main.py: error: infeasible: {written.replace('<=', ' <= ')} cannot be met: "
            "with every layer at its least use it is 4 bits against a limit of 0 bits\n"
        )


def test_a_link_with_an_absolute_first_limit_opens():
    """``?limit=mean_wbits<=6`` (the README's example) made the sweep resolve mean_wbits<=0."""
    with no_hang(60):
        at = AppTest.from_file(str(REPO / ENTRY), default_timeout=60)
        at.query_params["limit"] = "mean_wbits<=6"
        at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
