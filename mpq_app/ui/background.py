"""Sweeps too slow for a page run, solved in a thread of their own while the pages show what
they have: the exact solver's sweep of a large model (above ``MAX_LAYER_CELLS`` layers its
101 MILPs take minutes; each is seconds at 100,000 layers).

One job per data, sweep key and solvers, shared by every session (like the caches); the work
is the engine's alone (no Streamlit call in the thread), bounded like every sweep of the app
by ``SWEEP_SECONDS`` for its exact solves. A page asks :func:`sweep_job` for it, draws the
greedy's curves until it ends, and shows :func:`progress`, which reruns the page once the
exact sweep is there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import streamlit as st

_LOG = logging.getLogger("mpq.app")
_LOCK = threading.Lock()
_KEPT = 8  # finished jobs kept, at most (the oldest go first)


@dataclass
class SweepJob:
    """A sweep running in the background: its solves done of ``total``, then its table (or
    why it failed)."""

    total: int
    done: int = 0
    table: pd.DataFrame | None = None
    failed: str | None = None

    @property
    def finished(self) -> bool:
        return self.table is not None or self.failed is not None

    def tick(self) -> bool:
        """The sweep's ``stop``: asked before each solve, it counts them (never stops)."""
        self.done = min(self.done + 1, self.total)
        return False


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[object, SweepJob]:
    return {}


def sweep_job(
    key: object, total: int, run: Callable[[Callable[[], bool]], pd.DataFrame]
) -> SweepJob:
    """The job of ``key`` (hashable: the data, the sweep's key, the solvers), started on the
    first ask: ``run(stop)`` makes the table, calling ``stop`` before each of its ``total``
    solves."""
    with _LOCK:
        jobs = _jobs()
        job = jobs.get(key)
        if job is None:
            done = [k for k, j in jobs.items() if j.finished]
            for old in done[: max(0, len(jobs) - _KEPT + 1)]:
                del jobs[old]
            job = jobs[key] = SweepJob(total)
            thread = threading.Thread(target=_work, args=(job, run), name="mpq-sweep")
            thread.daemon = True  # a server stopping does not wait for it
            thread.start()
        return job


def _work(job: SweepJob, run: Callable[[Callable[[], bool]], pd.DataFrame]) -> None:
    try:
        job.table = run(job.tick)
    except Exception as err:  # the page says it failed; the details go to the log
        _LOG.error("background sweep failed", exc_info=err)
        job.failed = type(err).__name__
    job.done = job.total


def show(job: SweepJob | None) -> bool:
    """Where ``job`` stands, when there is one: a progress bar while it runs, a warning if it
    failed. True when its table is there (or there is no job)."""
    if job is None or job.table is not None:
        return True
    if job.failed is not None:
        st.warning(
            f"The exact sweep stopped on an error ({job.failed}); the curves hold the greedy "
            "alone. The details are in the server log.",
            icon=":material/error:",
        )
        return False
    progress(job)
    return False


@st.fragment(run_every=1.0)
def progress(job: SweepJob) -> None:
    """A progress bar while ``job`` runs (redrawn every second); once it has ended, the whole
    page runs again to draw what it brought."""
    if job.finished:
        st.rerun(scope="app")
    st.progress(
        job.done / job.total,
        text=f"Exact sweep in the background: {job.done} of {job.total} solves. Until it "
        "ends the curves and the sweep's downloads hold the greedy alone; the allocation in "
        "use is the exact solver's.",
    )
