"""Cached wrappers over the engine's loading, problem building, solving and sweeping.

Arguments are hashable values (file bytes in a frozen dataclass, the frozen core ``Spec``), so
each file pair is parsed once, each problem built once per spec and each sweep computed once
per data and spec. A sweep does not depend on the value of the limit it sweeps, so its key
leaves that value out: moving the slider never recomputes it. Cached values are returned as
copies by ``st.cache_data`` and never mutated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from mpq_core import (
    DEFAULT_MULTIPLIERS,
    SAMPLES,
    BudgetSweep,
    InputError,
    InputFile,
    Inputs,
    Limit,
    Problem,
    ResourceTable,
    Spec,
    build_problem,
    load_inputs,
    parse_resources,
    resolve_limits,
    sample_inputs,
    solve_budgets,
    solve_sweep,
    sweep_budgets,
    sweep_limits,
)
from mpq_core.charts.module_map import MAX_LAYER_CELLS
from mpq_core.io.loading_sensitivity import NEEDS_LADDER
from mpq_core.io.reading import decode, read_bytes
from mpq_core.solving.solvers import sweep_solvers  # noqa: F401  (pages import it from here)

from .. import FILES_ENV
from .background import SweepJob, sweep_job

# Up to this many layers the Budget explorer's views follow the slider in the browser (ui.live).
# Above MAX_LAYER_CELLS (2,000) layers the heatmap draws a cell per module kind and block, not
# per layer, so what is sent no longer grows with the layers; the sweep's allocations are kept
# for the views (about 5 MB a step at 100,000 layers). Larger problems are drawn by the server.
LIVE_MAX_LAYERS = 100_000
LIVE_MAX_LAYERS_SEVERAL = 1_000  # ... with several limits (a sweep per slider, solved again
# whenever another slider is committed)
MAX_NAME_CHOICES = 10_000  # a box to pick layers from (pins, ties) lists at most this many
SWEEP_SECONDS = 60.0  # all exact solves of one sweep in the app: a link cannot occupy it longer
# Layers of an uploaded file, at most: the size the pages are measured at (AppTest on 2 cores,
# the synthetic 100,000-layer sample, 2026-12-07: first open 17 s, a warm rerun 0.65 s, a
# committed value 0.85 s, Compare budgets 3 s, Layers 0.9 s; before the heatmap folded the
# layers, a rerun took 34 s at 100,000 layers).
MAX_UPLOAD_LAYERS = 100_000


@dataclass(frozen=True)
class DataFiles:
    """The files in use as bytes (a Phase 1 and a Phase 2 file, optionally a resources file),
    with the labels used in messages and exports."""

    flops_name: str
    flops: bytes
    sensitivity_name: str
    sensitivity: bytes
    on_mismatch: str = "error"
    name_prefix: str = ""
    resources_name: str = ""
    resources: bytes = b""
    # the widths a sensitivity file of one list per layer (MixDQ's layout) was accepted with:
    # it is read with them whenever no other ladder is asked for
    ladder: tuple[int, ...] = ()
    # what the caches key on (``HASHED``): Streamlit's own hash would read every byte of the
    # files at each cached call (seconds a run at 100,000 layers)
    digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        h = hashlib.sha256()
        for part in dataclasses.fields(self)[:-1]:  # every field but the digest
            item = getattr(self, part.name)
            data = item if isinstance(item, bytes) else repr(item).encode()
            h.update(len(data).to_bytes(8, "little") + data)
        object.__setattr__(self, "digest", h.hexdigest())

    def input_files(self) -> tuple[InputFile, InputFile]:
        return (
            InputFile(self.flops_name, self.flops),
            InputFile(self.sensitivity_name, self.sensitivity),
        )


HASHED = {DataFiles: lambda files: files.digest}  # hash_funcs of every cache keyed on files


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def sample_files(key: str) -> DataFiles:
    """A bundled sample's files with its own resources file, name prefix and ladder."""
    sample = SAMPLES[key]
    flops, sens = sample_inputs(key)
    resources = sample.resources_file()
    return DataFiles(
        flops.name,
        flops.content,
        sens.name,
        sens.content,
        name_prefix=sample.name_prefix,
        resources_name="" if resources is None else resources.name,
        resources=b"" if resources is None else resources.content,
        ladder=sample.ladder or (),
    )


@st.cache_data(show_spinner=False, max_entries=8)
def sample_spec(key: str) -> Spec:
    """The settings a bundled sample opens with (its constraints and pin files read)."""
    return SAMPLES[key].spec()


def given_paths() -> tuple[str, ...]:
    """The pair ``mpq app FLOPS SENSITIVITY`` was started with (none otherwise)."""
    text = os.environ.get(FILES_ENV, "")
    return tuple(json.loads(text)) if text else ()


def given_files() -> DataFiles | None:
    """The pair ``mpq app`` was started with, read now (an InputError names the file)."""
    paths = given_paths()
    if not paths:
        return None
    (flops, flops_bytes), (sens, sens_bytes) = (read_bytes(path) for path in paths)
    return DataFiles(Path(flops).name, flops_bytes, Path(sens).name, sens_bytes)


def needs_ladder(err: InputError) -> bool:
    """The sensitivity file lists one value per width (MixDQ's layout) and no ladder names
    them."""
    return NEEDS_LADDER in err.problem


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def cached_inputs(files: DataFiles, ladder: tuple[int, ...] | None = None) -> Inputs:
    """Parse and align both files (an InputError is raised again on every call, not cached).
    ``ladder`` (else ``files.ladder``) is used only by a sensitivity file that lists one value
    per width (MixDQ's layout): any other pair is parsed once, whatever the ladder. Files that
    come with their ladder are read with it at once (no attempt without: a large YAML file
    takes seconds to parse)."""
    if files.ladder:  # read like the command line reads it with --bits
        return _inputs(files, ladder or files.ladder)
    try:
        return _inputs(files, None)
    except InputError as err:
        if ladder is None or not needs_ladder(err):
            raise
    return _inputs(files, ladder)


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def _inputs(files: DataFiles, ladder: tuple[int, ...] | None) -> Inputs:
    return load_inputs(
        *files.input_files(),
        on_mismatch=files.on_mismatch,
        ladder=ladder,
        name_prefix=files.name_prefix,
    )


def cached_resources(files: DataFiles) -> ResourceTable | None:
    """The resources file of ``files``, if any (an InputError names the file)."""
    if not files.resources:
        return None
    return _resources(files.resources_name, files.resources)


@st.cache_data(show_spinner=False, max_entries=8)
def _resources(name: str, content: bytes) -> ResourceTable:
    return parse_resources(decode(content, name), name)


def check_upload_size(inputs: Inputs) -> None:
    """Refuse an uploaded file of more than ``MAX_UPLOAD_LAYERS`` layers (an InputError naming
    it): the size the pages are measured at."""
    layers, sens = inputs.layers, inputs.sensitivity
    counts = (
        (layers.source, len(layers.names) + len(inputs.only_in_flops)),
        (sens.source, len(sens.names) + len(inputs.only_in_sensitivity)),
    )
    for name, count in counts:
        if count > MAX_UPLOAD_LAYERS:
            raise InputError(
                name,
                f"{count:,} layers; the dashboard takes at most {MAX_UPLOAD_LAYERS:,} layers "
                "per file (the command line has no such limit)",
            )


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASHED)
def cached_problem(files: DataFiles, spec: Spec) -> Problem:
    """The problem of these files under the spec's ladder, cost model, pins, groups and ties
    (its limits and solver do not shape it: they are left out of the key)."""
    return _problem(files, spec.problem_key())


def _problem(files: DataFiles, key: Spec) -> Problem:
    inputs = cached_inputs(files, key.ladder)
    return build_problem(inputs, key, resources=cached_resources(files))


def sweep_key(spec: Spec, index: int = 0) -> Spec:
    """The spec with the swept limit's value (limit ``index``, the first by default) set aside
    (the key of its sweep)."""
    limits = list(spec.limits)
    swept = limits[index]
    suffix = swept.form if swept.form != "abs" else ""
    limits[index] = swept.with_value("0" + suffix)
    return spec.with_limits(tuple(limits))


def sweep_values(problem: Problem, spec: Spec, index: int = 0) -> tuple[float, ...]:
    """What limit ``index``'s slider offers (the values its sweep solves): 0.00..1.00 by 0.01
    for the x and r forms; for an absolute limit, its slider's steps from the cheapest to the
    dearest use (:func:`slider_range`: about 50 to 100 steps of 1, 2 or 5 times a power of
    ten, in its unit)."""
    swept = spec.limits[index]
    if swept.form != "abs":
        return DEFAULT_MULTIPLIERS
    low, high, step = slider_range(problem, swept)
    count = max(1, round((high - low) / step))
    return tuple(float(v) for v in np.round(low + step * np.arange(count + 1), 10))


def slider_range(problem: Problem, limit: Limit) -> tuple[float, float, float]:
    """(low, high, step) of a limit's slider: 0..1 for the x and r forms, the resource's
    cheapest..dearest use (in its unit) for an absolute limit."""
    if limit.form != "abs":
        return 0.0, 1.0, 0.01
    (bound,) = resolve_limits(problem, [limit])
    low, high = bound.low / bound.scale, bound.high / bound.scale
    span = high - low if high > low else max(abs(high), 1.0)
    step = _nice_step(span / 100)
    return float(math.floor(low / step) * step), float(math.ceil(high / step) * step), step


def _nice_step(raw: float) -> float:
    """The step of 1, 2 or 5 times a power of ten nearest above ``raw``."""
    power = 10.0 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return factor * power
    return 10 * power


def session_gone() -> bool:
    """True once the browser tab of this script run has closed (its websocket session is no
    longer active): long loops ask it between solves and stop, so a closed tab does not keep
    a server thread computing. False outside a server (AppTest, bare scripts)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not Runtime.exists():
        return False
    return not Runtime.instance().is_active_session(ctx.session_id)


def cached_sweep(files: DataFiles, key: Spec, solvers: tuple[str, ...]) -> pd.DataFrame:
    """The first limit swept over its slider's values with the other limits held (for the
    original single budget: every multiplier 0.00..1.00). ``key`` comes from
    :func:`sweep_key`. Above ``MAX_LAYER_CELLS`` layers an exact sweep runs in the
    background (:func:`exact_sweep_job`): until it ends, the greedy's rows alone."""
    if "exact" in solvers:
        job = exact_sweep_job(files, key, solvers)
        if job is not None:
            if job.table is not None:
                return job.table.copy()
            solvers = tuple(s for s in solvers if s != "exact") or ("greedy",)
    return _cached_sweep(files, key, solvers)


def exact_sweep_job(files: DataFiles, key: Spec, solvers: tuple[str, ...]) -> SweepJob | None:
    """The background job of an exact sweep of a large problem (None for a problem of at
    most ``MAX_LAYER_CELLS`` layers: its sweep is quick enough for a page run)."""
    problem = cached_problem(files, key)
    if problem.n_layers <= MAX_LAYER_CELLS:
        return None
    total = len(sweep_values(problem, key)) * len(solvers)
    return sweep_job((files, key, solvers), total, lambda stop: _sweep(problem, key, solvers, stop))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=HASHED)
def _cached_sweep(files: DataFiles, key: Spec, solvers: tuple[str, ...]) -> pd.DataFrame:
    problem = cached_problem(files, key)
    if len(key.limits) == 1 and problem.n_layers <= LIVE_MAX_LAYERS:  # the live views draw these
        return cached_live_sweep(files, key, solvers, 0).table  # the key _swept uses
    return _sweep(problem, key, solvers, session_gone)


def _sweep(problem: Problem, key: Spec, solvers: tuple[str, ...], stop) -> pd.DataFrame:
    if len(key.limits) == 1 and key.limits[0].is_budget:
        return sweep_budgets(problem, solvers=solvers, time_limit=SWEEP_SECONDS, stop=stop)
    return sweep_limits(
        problem,
        key.limits,
        values=sweep_values(problem, key),
        solvers=solvers,
        time_limit=SWEEP_SECONDS,
        stop=stop,
    )


@st.cache_resource(show_spinner=False, max_entries=12, hash_funcs=HASHED)
def cached_live_sweep(
    files: DataFiles, key: Spec, solvers: tuple[str, ...], index: int = 0
) -> BudgetSweep:
    """Limit ``index`` swept over its slider's values, the other limits held, with every
    allocation kept (the live views draw each one): the BOPs budget over 0.00..1.00, another
    limit over :func:`sweep_values`. ``key`` comes from ``sweep_key(spec, index)``. Shared,
    not copied, by every session; nothing changes it."""
    problem = cached_problem(files, key)
    if len(key.limits) == 1 and key.limits[0].is_budget:
        return solve_budgets(problem, solvers=solvers, time_limit=SWEEP_SECONDS, stop=session_gone)
    values = sweep_values(problem, key, index)
    return solve_sweep(
        problem, key.limits, values, vary=index, solvers=solvers, time_limit=SWEEP_SECONDS,
        stop=session_gone,
    )  # fmt: skip


def budget_limit(multiplier: float) -> Limit:
    """``bops <= m x`` (the slider's budget)."""
    return Limit.budget(float(multiplier))
