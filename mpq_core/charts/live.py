"""The Budget explorer's charts at every step of a slider, packed for a page that switches
between them without asking the server.

The states come from the same spec functions as the figures everything else exports
(``plot_heatmap`` is ``go.Figure(heatmap_spec(...))``, and so on), so a chart drawn live
and its exported image are the same figure. :func:`pack_states` writes many states of one chart
as one JSON text in which each distinct value appears once: what does not depend on the step
(layer names, axes, the sweep's curves) is written once, each step adds only what changed.

The packed form (``values`` and ``objects`` are shared by every step)::

    {"fields": {"data": "objects", "layout": "object", "config": "object"},
     "values": [<JSON value>, ...],
     "objects": [{"<key>": <index into values>, ...}, ...],
     "steps": [{"data": [<object index>, ...], "layout": <object index>, ...}, ...]}

A field is an ``object`` (a dict: each of its keys' values is stored once), ``objects`` (a list
of dicts, such as a figure's traces) or a ``value`` (anything else, stored whole).
:func:`unpack_state` rebuilds one step; the browser does the same in a few lines (its twin
``unpack`` in mpq_app/ui/live_js/packed.js, checked against this one by tests/js).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ..solving.solution import Solution
from .allocation import distribution_by_group_spec, distribution_spec
from .budget import budget_curve_specs, slack_specs
from .limits import budget_use_spec
from .module_map import heatmap_spec
from .tradeoff import limits_use_spec

VIEW_CHARTS = ("heatmap", "distribution", "budget_use", "budget_curve", "slack")
LIMIT_CHARTS = ("limits_use", "heatmap", "distribution")  # a slider of a limit not on BOPs
GROUPS_CHART = "groups"  # with groups in the constraints: the widths per group


def view_specs(sweep: pd.DataFrame, solution: Solution) -> dict[str, dict[str, Any]]:
    """The Budget explorer's charts at ``solution`` (and the widths per group when the
    constraints define groups), as plain figure dicts keyed as in the app
    (the figures of :func:`mpq_core.report.html.build_report_figures`, without validation)."""
    return view_steps(sweep, [solution])[0]


def view_steps(
    sweep: pd.DataFrame, solutions: Sequence[Solution], charts: Sequence[str] = VIEW_CHARTS
) -> list[dict[str, dict[str, Any]]]:
    """:func:`view_specs` at each of ``solutions`` (what the sweep alone draws is computed
    once), for the ``charts`` among ``VIEW_CHARTS`` (the budget's charts need a BOPs budget:
    a slider of another limit has the heatmap and the distribution)."""
    budget = "budget_curve" in charts
    curves = budget_curve_specs(sweep, solutions) if budget else [None] * len(solutions)
    slack = slack_specs(sweep, solutions) if budget else [None] * len(solutions)
    template = default_template()
    out = []
    drawn = {  # the charts drawn from the step's allocation alone
        "heatmap": heatmap_spec,
        "distribution": distribution_spec,
        "budget_use": budget_use_spec,
        "limits_use": limits_use_spec,
    }
    for solution, curve, unused in zip(solutions, curves, slack, strict=True):
        swept = {"budget_curve": curve, "slack": unused}
        specs = {name: swept[name] if name in swept else drawn[name](solution) for name in charts}
        if solution.problem.groups:
            specs[GROUPS_CHART] = distribution_by_group_spec(solution)
        out.append({name: _with_template(spec, template) for name, spec in specs.items()})
    return out


def default_template() -> dict[str, Any]:
    """The template ``go.Figure`` gives a figure that names none (plotly's default), as JSON:
    part of every exported figure, so part of every live one."""
    return go.Figure().to_plotly_json()["layout"].get("template", {})


def _with_template(spec: dict[str, Any], template: dict[str, Any]) -> dict[str, Any]:
    if "template" in spec["layout"]:
        return spec
    return {**spec, "layout": {**spec["layout"], "template": template}}


def pack_states(states: Sequence[Mapping[str, Any]]) -> str:
    """Several states with the same fields as one JSON text, each distinct value written once.

    NaN and infinities become ``null`` (as in plotly's own JSON); numpy values become plain
    numbers and lists.
    """
    if not states:
        raise ValueError("no state to pack")
    # a field's kind from its first state that is not an empty list (no cards at an
    # infeasible step is still a list of cards)
    fields = {
        name: next((_kind(s[name]) for s in states if s.get(name, []) != []), "objects")
        for name in states[0]
    }
    values: dict[str, int] = {}  # JSON text -> index
    objects: dict[tuple[tuple[str, int], ...], int] = {}

    def value_id(value: Any) -> int:
        return values.setdefault(_json(value), len(values))

    def object_id(obj: Mapping[str, Any]) -> int:
        refs = tuple((str(key), value_id(item)) for key, item in obj.items())
        return objects.setdefault(refs, len(objects))

    steps = []
    for number, state in enumerate(states):
        if list(state) != list(fields):
            raise ValueError(f"state {number} has the fields {list(state)}, not {list(fields)}")
        step: dict[str, Any] = {}
        for name, kind in fields.items():
            item = state[name]
            if _kind(item) != kind and not (kind == "objects" and item == []):
                raise ValueError(f"state {number}: field {name!r} is not a {kind}")
            if kind == "object":
                step[name] = object_id(item)
            elif kind == "objects":
                step[name] = [object_id(obj) for obj in item]
            else:
                step[name] = value_id(item)
        steps.append(step)
    head = json.dumps({"fields": fields}, separators=(",", ":"))[:-1]
    return "".join(
        [
            head,
            ',"values":[',
            ",".join(values),
            '],"objects":',
            json.dumps([dict(refs) for refs in objects], separators=(",", ":")),
            ',"steps":',
            json.dumps(steps, separators=(",", ":")),
            "}",
        ]
    )


def unpack_state(packed: Mapping[str, Any], index: int) -> dict[str, Any]:
    """Step ``index`` of a parsed :func:`pack_states` text, as it was given (NaN as None)."""
    values, objects = packed["values"], packed["objects"]

    def build(ref: int) -> dict[str, Any]:
        return {key: values[i] for key, i in objects[ref].items()}

    step = packed["steps"][index]
    out: dict[str, Any] = {}
    for name, kind in packed["fields"].items():
        ref = step[name]
        out[name] = (
            build(ref)
            if kind == "object"
            else [build(r) for r in ref]
            if kind == "objects"
            else values[ref]
        )
    return out


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple) and value and all(isinstance(v, Mapping) for v in value):
        return "objects"
    return "value"


def _json(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_plain)
    except ValueError:  # a NaN or an infinity somewhere: null, as plotly writes it
        return json.dumps(_finite(value), separators=(",", ":"), allow_nan=False, default=_plain)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays as plain numbers and lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "tolist"):
        return _finite(value.tolist())
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value
