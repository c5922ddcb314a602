"""Cached wrappers over the engine's loading, problem building, solving and sweeping.

Arguments are hashable values (file bytes in a frozen dataclass, tuples, strings, floats), so
each file pair is parsed once and each sweep computed once per data and settings. Cached
values are returned as copies by ``st.cache_data`` and never mutated.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from mpq_core import (
    InputFile,
    Inputs,
    Problem,
    build_problem,
    load_inputs,
    sample_inputs,
    sweep_budgets,
)

Pins = tuple[tuple[str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class DataFiles:
    """A Phase 1 and a Phase 2 file as bytes, with the labels used in messages and exports."""

    flops_name: str
    flops: bytes
    sensitivity_name: str
    sensitivity: bytes
    on_mismatch: str = "error"

    def input_files(self) -> tuple[InputFile, InputFile]:
        return (
            InputFile(self.flops_name, self.flops),
            InputFile(self.sensitivity_name, self.sensitivity),
        )


@dataclass(frozen=True)
class ProblemSettings:
    """Everything besides the files that shapes the knapsack instance."""

    ladder: tuple[int, ...]
    abit_rule: str
    discount: float
    pins: Pins = ()


@st.cache_data(show_spinner=False, max_entries=4)
def sample_files(key: str) -> DataFiles:
    flops, sens = sample_inputs(key)
    return DataFiles(flops.name, flops.content, sens.name, sens.content)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_inputs(files: DataFiles) -> Inputs:
    """Parse and align both files (an InputError is raised again on every call, not cached)."""
    return load_inputs(*files.input_files(), on_mismatch=files.on_mismatch)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_problem(files: DataFiles, settings: ProblemSettings) -> Problem:
    return build_problem(
        cached_inputs(files),
        bits=settings.ladder or None,  # () means the file's own ladder
        abit_rule=settings.abit_rule,
        upgrade_discount=settings.discount,
        pins={name: list(widths) for name, widths in settings.pins},
    )


@st.cache_data(show_spinner=False, max_entries=16)
def cached_sweep(
    files: DataFiles, settings: ProblemSettings, solvers: tuple[str, ...]
) -> pd.DataFrame:
    """The whole 0.00..1.00 sweep for these data and settings."""
    return sweep_budgets(cached_problem(files, settings), solvers=solvers)


def sweep_solvers(solver: str) -> tuple[str, ...]:
    """The greedy sweep always; the exact one too when the exact solver is chosen."""
    return ("greedy",) if solver == "greedy" else ("greedy", solver)
