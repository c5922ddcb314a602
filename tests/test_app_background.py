"""A large model's exact sweep runs in the background: the page draws at once with the greedy's
curves and a progress bar, then with the exact sweep once it has ended; a failed one says so."""

from __future__ import annotations

import threading

import pytest
from app_runs import no_failure, run_app, upload
from app_views import app_charts

import mpq_app.ui.data
from mpq_app.ui import background
from mpq_core.io.synthetic import moe_files

BLOCKS, EXPERTS = 4, 200  # 2,416 layers: above the 2,000 a heatmap draws one by one


@pytest.fixture
def held(monkeypatch):
    """The data module's sweep with its exact runs held until the test lets them go."""
    go = threading.Event()
    sweep = mpq_app.ui.data._sweep

    def waiting(problem, key, solvers, stop):
        if "exact" in solvers:
            assert go.wait(120)
        return sweep(problem, key, solvers, stop)

    monkeypatch.setattr(mpq_app.ui.data, "_sweep", waiting)
    background._jobs.clear()
    yield go
    go.set()
    background._jobs.clear()


def _large_exact():
    flops, sens = moe_files(BLOCKS, EXPERTS)
    at = run_app()
    at.radio(key="source").set_value("upload").run()
    upload(at, (flops.name, flops.content), (sens.name, sens.content))
    return at.radio(key="solver").set_value("exact").run()


def _job() -> background.SweepJob:
    (job,) = background._jobs().values()
    return job


def _curves(at) -> set[str]:
    slack = app_charts(at)["slack"]["data"]
    return {t.get("name") for t in slack if t.get("mode") == "lines+markers"}


def test_the_page_draws_with_the_greedy_then_with_the_exact_sweep(held):
    at = _large_exact()
    no_failure(at)
    job = _job()
    assert not job.finished
    (bar,) = at.get("progress")
    assert "Exact sweep in the background" in bar.proto.text
    assert _curves(at) == {"greedy"}
    held.set()
    for _ in range(600):
        if job.finished:
            break
        threading.Event().wait(0.2)
    assert job.table is not None and job.done == job.total == 202
    at.run()
    no_failure(at)
    assert not at.get("progress")
    assert _curves(at) == {"greedy", "exact"}


def test_a_failed_background_sweep_is_named_and_the_greedy_stays(monkeypatch, held):
    sweep = mpq_app.ui.data._sweep  # held: the greedy's sweep goes through

    def broken(problem, key, solvers, stop):
        if "exact" in solvers:
            raise RuntimeError("no HiGHS today")
        return sweep(problem, key, solvers, stop)

    monkeypatch.setattr(mpq_app.ui.data, "_sweep", broken)
    at = _large_exact()
    job = _job()
    for _ in range(100):
        if job.finished:
            break
        threading.Event().wait(0.1)
    at.run()
    assert not at.exception
    stopped = [w.value for w in at.warning if w.value.startswith("The exact sweep stopped")]
    assert stopped == [
        "The exact sweep stopped on an error (RuntimeError); the curves hold the greedy "
        "alone. The details are in the server log."
    ]
    assert _curves(at) == {"greedy"}
