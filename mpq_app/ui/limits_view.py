"""The Budget explorer's parts for several limits: a slider per limit, how much of each the
allocation uses, the weight figures papers quote, and the trade-off map of two limits."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import streamlit as st

from mpq_core import Limit, Solution, Spec, resolve_limits, sweep_grid
from mpq_core.charts import (
    context_line,
    plot_distribution_by_group,
    plot_limits_use,
    plot_tradeoff_map,
)

from . import constraints, render
from .data import HASHED, DataFiles, cached_problem, session_gone
from .render import NO_PARAMS, has_params

if TYPE_CHECKING:
    from .page import View

MAP_POINTS = 21  # per axis: a 21 x 21 grid
MAP_SECONDS = 120.0  # the exact map's time for all its cells (then cells keep their incumbent)
_EXACT_MAPS = "_exact_maps"  # session cache of exact maps (computed on request)


def limits_panel(view: View, solution: Solution) -> None:
    """The sliders of every limit but the budget, the weight cards and, with more than the
    budget, the use of every limit."""
    constraints.limit_controls(view.problem)
    weight_metrics(solution)
    several = not view.budget_only
    if several and view.problem.groups:
        with render.chart_row("limits"):
            render.chart(plot_limits_use(solution), key="limits_use")
            render.chart(plot_distribution_by_group(solution), key="groups")
    elif several:
        render.chart(plot_limits_use(solution), key="limits_use")
    elif view.problem.groups:
        render.chart(plot_distribution_by_group(solution), key="groups")


def weight_metrics(solution: Solution) -> None:
    """Params-weighted mean weight width ("W4.08") and weight memory, overall and per group."""
    if solution.feasible and not has_params(solution.problem):
        st.caption(NO_PARAMS)
        return
    items = render.weight_items(solution)
    if items:
        render.metric_grid(items, key="cards_weights")


# --- the trade-off map -------------------------------------------------------------------------


def axis_values(problem, limit: Limit) -> tuple[float, ...]:
    """The map's values of one limit: 0..1 for the x and r forms, cheapest..dearest use for an
    absolute one, ``MAP_POINTS`` each."""
    if limit.form != "abs":
        return tuple(float(v) for v in np.round(np.linspace(0, 1, MAP_POINTS), 4))
    (bound,) = resolve_limits(problem, [limit])
    low, high = bound.low / bound.scale, bound.high / bound.scale
    return tuple(float(v) for v in np.round(np.linspace(low, high, MAP_POINTS), 6))


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=HASHED)
def cached_map(
    files: DataFiles, spec: Spec, axes: tuple[int, int], values: tuple[tuple[float, ...], ...]
) -> pd.DataFrame:
    """The greedy's map (fast enough to fill at once)."""
    problem = cached_problem(files, spec)
    return sweep_grid(
        problem, spec.limits, axes=axes, values=(values[0], values[1]), stop=session_gone
    )


def _map_key(files: DataFiles, spec: Spec, axes, values) -> str:
    text = json.dumps([files.flops_name, files.sensitivity_name, repr(spec), axes, values])
    digest = hashlib.sha256(text.encode())
    digest.update(hashlib.sha256(files.flops + files.sensitivity + files.resources).digest())
    return digest.hexdigest()


def _map_spec(spec: Spec, axes: tuple[int, int]) -> Spec:
    """The spec with the two mapped limits' values set aside: the map's cache key."""
    limits = list(spec.limits)
    for i in axes:
        suffix = limits[i].form if limits[i].form != "abs" else ""
        limits[i] = limits[i].with_value("0" + suffix)
    return spec.with_limits(limits)


def tradeoff_section(view: View) -> None:
    """The objective over a grid of two limits, the current setting marked; the greedy fills
    it at once, the exact solver on request (with a progress bar, then kept for the session)."""
    limits = view.spec.limits
    st.subheader("Trade-off of two limits")
    if len(limits) < 2:
        st.caption(
            "Add a second limit in the sidebar (Constraints) to map the objective over two "
            "limits, for example the BOPs budget against the mean weight bits."
        )
        return
    labels = [limit.label() for limit in limits]
    left, middle, right = st.columns([2, 2, 2], vertical_alignment="bottom")
    x = left.selectbox("Across", range(len(limits)), format_func=labels.__getitem__, key="map_x")
    others = [i for i in range(len(limits)) if i != x]
    y = middle.selectbox("Up", others, format_func=labels.__getitem__, key="map_y")
    problem = view.problem
    values = (axis_values(problem, limits[x]), axis_values(problem, limits[y]))
    spec = _map_spec(view.spec_at(solver="greedy"), (x, y))
    exact_maps: dict[str, pd.DataFrame] = st.session_state.setdefault(_EXACT_MAPS, {})
    key = _map_key(view.files, spec, (x, y), values)
    use_exact = right.toggle(
        "Exact solver", key="map_exact", help="Fill the map with proven optima (takes longer)."
    )
    fill = use_exact and key not in exact_maps
    if fill and right.button("Fill the map", key="map_fill", icon=":material/grid_on:"):
        bar = st.progress(0.0, text="Solving the map with the exact solver…")
        exact_maps[key] = sweep_grid(
            cached_problem(view.files, spec),
            spec.limits,
            axes=(x, y),
            values=values,
            solver="exact",
            time_limit=MAP_SECONDS,
            progress=lambda done: bar.progress(done, text=f"Exact map: {done:.0%}"),
            stop=session_gone,
        )
        bar.empty()
    if use_exact and key in exact_maps:
        grid, solver = exact_maps[key], "exact"
    else:
        grid, solver = cached_map(view.files, spec, (x, y), values), "greedy"
        if use_exact:
            st.caption("Showing the greedy's map until the exact one is filled.")
    current = (limits[x].multiplier, limits[y].multiplier)
    solution = view.solve()
    fig = plot_tradeoff_map(
        grid,
        limits[x],
        limits[y],
        current=current,
        subtitle=context_line(solution) + f" · map by the {solver}",
        title="Objective over two limits",
    )
    render.chart(fig, key="tradeoff_map")
