"""The Compare page with several limits: which limit to vary, and its values."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from mpq_core import Limit, Solution, limit_value, resolve_limits, solve_spec

from . import state
from .text import plain

if TYPE_CHECKING:
    from .page import View

VALUES = 21  # offered values of a limit: 0..1 by 0.05, or cheapest..dearest in 20 steps


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
    solutions, labels = [], []
    for value in sorted(chosen):
        changed = Limit(
            limit.resource, limit_value(value, "compare", "value") + suffix, limit.group
        )
        spec = view.spec.with_limits((*limits[:index], changed, *limits[index + 1 :]))
        solutions.append(solve_spec(view.problem, spec))
        labels.append(changed.label())
    return solutions, labels
