"""The Compare page: its setups solved once each (not on every rerun); with several limits,
which limit to vary, and its values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mpq_core import Limit, Problem, Solution, Spec, limit_value, resolve_limits, solve_spec

from . import state
from .data import DataFiles
from .text import plain

if TYPE_CHECKING:
    from .page import View

VALUES = 21  # offered values of a limit: 0..1 by 0.05, or cheapest..dearest in 20 steps


def solve_setups(view: View, specs: Sequence[Spec]) -> list[Solution]:
    """The compared setups (one spec each, the limits' values in it), each solved once per
    data and spec: a rerun of the page, or a setup kept while another is added, solves
    nothing again."""
    return [_solved(view.files, spec, view.problem) for spec in specs]


@st.cache_data(show_spinner=False, max_entries=16)  # each holds its problem: a few MB at most
def _solved(files: DataFiles, spec: Spec, _problem: Problem) -> Solution:
    """``_problem`` is the page's problem of ``files`` under ``spec`` (left out of the key,
    which the files and the spec determine)."""
    return solve_spec(_problem, spec)


def vary_choice(view: View, limits: tuple[Limit, ...]) -> int:
    """Which limit the compared setups differ in (only asked when there is more than one)."""
    if len(limits) < 2:
        return 0
    labels = [limit.label() for limit in limits]
    return st.selectbox(
        "Setups that differ in",
        range(len(limits)),
        format_func=lambda i: plain(labels[i]),
        key="compare_vary",
        help="The other limits are held at their current values.",
    )


def offered(view: View, limit: Limit) -> list[float]:
    if limit.form != "abs":
        return [round(float(v), 2) for v in np.linspace(0, 1, VALUES)]
    (bound,) = resolve_limits(view.problem, [limit])
    low, high = bound.low / bound.scale, bound.high / bound.scale
    return [round(float(v), 4) for v in np.linspace(low, high, VALUES)]


def other_limit(
    view: View, limits: tuple[Limit, ...], index: int
) -> tuple[list[Solution], list[str]]:
    """Two to four values of limit ``index`` (the others held): the solutions and labels."""
    limit = limits[index]
    values = offered(view, limit)
    key = f"compare_values_{index}"
    current = round(limit.multiplier, 4)
    if key not in st.session_state:
        near = sorted(values, key=lambda v: abs(v - current))[1:3]
        st.session_state[key] = sorted({*near, min(values, key=lambda v: abs(v - current))})
    suffix = limit.form if limit.form != "abs" else ""
    chosen = st.multiselect(
        plain(f"Values of {limit.resource}" + (f"@{limit.group}" if limit.group else "")),
        sorted({*values, *st.session_state[key]}),
        key=key,
        max_selections=state.COMPARE_MAX,
        format_func=lambda v: f"{v:g}{suffix}",
        select_all=False,
    )
    if len(chosen) < state.COMPARE_MIN:
        st.info("Pick at least two values to compare.", icon=":material/info:")
        st.stop()
    specs, labels = [], []
    for value in sorted(chosen):
        changed = Limit(
            limit.resource, limit_value(value, "compare", "value") + suffix, limit.group
        )
        specs.append(view.spec.with_limits((*limits[:index], changed, *limits[index + 1 :])))
        labels.append(changed.label())
    return solve_setups(view, specs), labels
