"""The live view's packed states: each distinct value once, unpacked as given, and the figures
at every slider step the same as the exported figures."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from factory import sample

import mpq_core as mc
from mpq_core.charts import (
    plot_bit_heatmap,
    plot_budget_curve,
    plot_budget_use,
    plot_distribution,
    plot_slack,
)
from mpq_core.charts.live import VIEW_CHARTS, pack_states, unpack_state, view_specs, view_steps

BUILDERS = {
    "heatmap": lambda sweep, solution: plot_bit_heatmap(solution),
    "distribution": lambda sweep, solution: plot_distribution(solution),
    "budget_use": lambda sweep, solution: plot_budget_use(solution),
    "budget_curve": plot_budget_curve,
    "slack": plot_slack,
}


def _unpacked(states: list[dict]) -> list[dict]:
    packed = json.loads(pack_states(states))
    return [unpack_state(packed, i) for i in range(len(states))]


def test_each_distinct_value_is_written_once():
    # two steps of a figure-like state: the trace's "x" and the layout's "width" are the same,
    # "y" and the title differ; the config is a plain value
    states = [
        {"data": [{"x": [1, 2], "y": [3, 4]}], "layout": {"width": 9, "title": "a"}, "config": 1},
        {"data": [{"x": [1, 2], "y": [5, 6]}], "layout": {"width": 9, "title": "b"}, "config": 1},
    ]
    packed = json.loads(pack_states(states))
    assert packed["fields"] == {"data": "objects", "layout": "object", "config": "value"}
    # values: [1, 2], [3, 4], 9, "a", 1, [5, 6], "b": the shared ones once
    assert packed["values"] == [[1, 2], [3, 4], 9, "a", 1, [5, 6], "b"]
    assert packed["objects"] == [
        {"x": 0, "y": 1},
        {"width": 2, "title": 3},
        {"x": 0, "y": 5},
        {"width": 2, "title": 6},
    ]
    assert packed["steps"] == [
        {"data": [0], "layout": 1, "config": 4},
        {"data": [2], "layout": 3, "config": 4},
    ]
    assert _unpacked(states) == states


def test_nan_and_numpy_values_are_written_as_plotly_writes_them():
    states = [
        {"a": {"v": math.nan, "w": np.float64(1.5), "n": np.array([1, 2])}, "b": math.inf},
        {"a": {"v": None, "w": np.int64(3), "n": [np.bool_(True)]}, "b": 2},
    ]
    assert _unpacked(states) == [
        {"a": {"v": None, "w": 1.5, "n": [1, 2]}, "b": None},
        {"a": {"v": None, "w": 3, "n": [True]}, "b": 2},
    ]


def test_a_list_field_may_be_empty_in_any_state_first_included():
    # no cards at an infeasible first step, cards later: still a list of objects
    states = [{"cards": []}, {"cards": [{"label": "a"}]}, {"cards": []}]
    packed = json.loads(pack_states(states))
    assert packed["fields"] == {"cards": "objects"}
    assert _unpacked(states) == states
    assert _unpacked([{"cards": []}, {"cards": []}]) == [{"cards": []}, {"cards": []}]


def test_states_must_have_the_same_fields():
    with pytest.raises(ValueError, match=r"state 1 has the fields \['a'\], not \['a', 'b'\]"):
        pack_states([{"a": 1, "b": 2}, {"a": 1}])
    with pytest.raises(ValueError, match=r"state 1: field 'a' is not a object"):
        pack_states([{"a": {"x": 1}}, {"a": 2}])
    with pytest.raises(ValueError, match="no state to pack"):
        pack_states([])


@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_every_step_is_the_exported_figure(solver):
    """What the browser draws at a step is, field for field, the figure the builders export
    (validated by plotly) at that budget: infeasible steps included."""
    problem = sample()
    sweep = mc.sweep_budgets(problem, solvers=mc.sweep_solvers(solver))
    solutions = [mc.solve(problem, m, solver) for m in mc.DEFAULT_MULTIPLIERS]
    assert not solutions[0].feasible and solutions[-1].feasible
    steps = view_steps(sweep, solutions)
    for chart in VIEW_CHARTS:
        shown = _unpacked([step[chart] for step in steps])
        for solution, state in zip(
            solutions[::10] + solutions[12:15], shown[::10] + shown[12:15], strict=True
        ):
            exported = json.loads(BUILDERS[chart](sweep, solution).to_json())
            assert state == exported, (chart, solution.multiplier)


def test_the_batched_steps_are_the_single_ones():
    problem = sample()
    sweep = mc.sweep_budgets(problem)
    solutions = [mc.solve(problem, m) for m in (0.05, 0.3, 0.77)]
    assert view_steps(sweep, solutions) == [view_specs(sweep, s) for s in solutions]
