"""Write the golden fixtures of the live view's JavaScript: what Python sends and answers,
for node's tests (``tests/js``) to check the JavaScript twins against.

    python scripts/gen_js_fixtures.py              # rewrite tests/js/fixtures/*.json
    python scripts/gen_js_fixtures.py --out-dir D  # write D/*.json instead

Each problem's file holds, for every live view of the Budget explorer on a few slider steps:

- ``views``: the data the browser receives (``ui.live.pack_view``, unzipped and parsed; its
  ``table`` is ``mpq_core.charts.live.pack_states``'s). The charts leave out the plotly
  package's template, which every chart shares and which would only repeat;
- ``unpacked``: each step as ``unpack_state`` rebuilds it (the JS ``unpack`` must agree);
- ``nearest``: the step ``ui.live._nearest`` picks for values on, near, between and beyond
  the steps (the JS ``nearest`` must agree).

``edges.json`` does the same for hand-made states (NaN, numpy values, an empty list first,
text that needs escaping) and odd grids. The output is deterministic; ``tests/test_js.py``
checks that the committed files equal a fresh run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

import mpq_core as mc  # noqa: E402
from mpq_app.ui import live  # noqa: E402
from mpq_core.charts.live import pack_states, unpack_state  # noqa: E402

FIXTURES = ROOT / "tests" / "js" / "fixtures"

# name: (layers as (name, MACs, params), sensitivities, load_problem settings, slider steps)
PROBLEMS: dict[str, tuple[list[tuple[str, int, int]], list[Any], dict[str, Any], list[float]]] = {
    # 4 layers, 4/8/16 bits, one loss per layer; infeasible at 0 (no cards but the shortfall);
    # names that need escaping in HTML and JSON
    "tiny": (
        [
            ("conv_in", 800_000_000, 6_000),
            ('attn "q" <b>', 300_000_000, 4_000),
            ("ffn·über", 500_000_000, 9_000),
            ("out", 100_000_000, 800),
        ],
        [0.9, 0.3, 0.5, 0.05],
        {},
        [0.0, 0.5, 1.0],
    ),
    # 5 layers on a 2/4/8 ladder, a score per width (higher is better)
    "ladder": (
        [(f"block.{i}", 200_000_000 * (i + 1), 1_000 * (5 - i)) for i in range(5)],
        [{"2": 0.2 + i / 10, "4": 0.6 + i / 20, "8": 0.9} for i in range(5)],
        {"bits": (2, 4, 8)},
        [0.3, 0.6, 1.0],
    ),
}


def problem_fixture(name: str) -> dict[str, Any]:
    """The live views of problem ``name`` at its steps, unpacked, and nearest steps."""
    layers, sens, settings, steps = PROBLEMS[name]
    problem = _load(layers, sens, settings)
    swept = mc.solve_budgets(problem, steps, solvers=("greedy",))
    # the greedy's solutions: step_states reads the view only for an exact solution's gap
    states = live.step_states(None, swept.table, swept.solutions["greedy"])
    for step in states:
        for view in step.values():
            # the plotly package's template: the same 3.7 KB in every chart, only repeated
            view.get("layout", {}).pop("template", None)
    group = live.LiveGroup("budget", "budget", tuple(steps))
    views = {
        view: live.decode(live.pack_view(group, view, [step[view] for step in states]))
        for view in live.BUDGET_VIEWS
    }
    return {
        "about": f"problem {name!r}: what scripts/gen_js_fixtures.py wrote",
        "views": views,
        "unpacked": {
            view: [unpack_state(spec["table"], i) for i in range(len(steps))]
            for view, spec in views.items()
        },
        "nearest": nearest_answers(steps, _probes(steps)),
    }


def _load(layers: list[tuple[str, int, int]], sens: list[Any], settings: dict) -> mc.Problem:
    flops = {"layers": {n: {"macs": macs, "params": params} for n, macs, params in layers}}
    names = [name for name, _, _ in layers]
    table: dict[str, Any] = {"sensitivity": dict(zip(names, sens, strict=True))}
    if isinstance(sens[0], dict):
        table["metadata"] = {"higher_is_better": True}
    return mc.load_problem(
        mc.InputFile("flops.json", json.dumps(flops).encode()),
        mc.InputFile("sensitivity.json", json.dumps(table).encode()),
        **settings,
    )


def _probes(grid: list[float]) -> list[float]:
    """Values on each step, near it, between two steps and beyond the ends."""
    values = [grid[0] - 0.3, grid[-1] + 0.7]
    for step in grid:
        values += [step, step - 4e-10, step + 4e-10]
    for a, b in itertools.pairwise(grid):
        middle = (a + b) / 2
        values += [middle, middle - 1e-12, middle + 1e-12]
    return values


def nearest_answers(grid: list[float], values: list[float]) -> dict[str, Any]:
    return {
        "grid": list(grid),
        "values": values,
        "steps": [live._nearest(grid, value) for value in values],
    }


def edges_fixture() -> dict[str, Any]:
    """Hand-made states packed and unpacked, and nearest steps on odd grids."""
    tables = {}
    for name, states in EDGE_STATES.items():
        packed = json.loads(pack_states(states))
        tables[name] = {
            "table": packed,
            "unpacked": [unpack_state(packed, i) for i in range(len(states))],
        }
    default = list(mc.DEFAULT_MULTIPLIERS)
    grids = [default, [0.5], [0.0, 1.0], [-2.0, 0.0, 0.1, 0.35, 0.9, 2.5]]
    return {
        "about": "hand-made states and grids: what scripts/gen_js_fixtures.py wrote",
        "tables": tables,
        "nearest": [nearest_answers(grid, [*_probes(grid), 0.25, 0.125]) for grid in grids],
    }


EDGE_STATES: dict[str, list[dict[str, Any]]] = {
    # what plotly writes for NaN and infinities (null), numpy numbers and arrays as plain JSON
    "numbers": [
        {"a": {"v": math.nan, "w": np.float64(1.5), "n": np.array([1, 2])}, "b": math.inf},
        {"a": {"v": None, "w": np.int64(3), "n": [np.bool_(True)]}, "b": -math.inf},
        {"a": {"v": 1e-300, "w": 2**53 + 1, "n": [0.1, -0.0]}, "b": 1e300},
    ],
    # no cards at an infeasible first step: still a list of objects
    "empty_first": [{"cards": []}, {"cards": [{"label": "a"}, {"label": "b"}]}, {"cards": []}],
    # values shared between steps, objects and fields; text that needs escaping
    "shared": [
        {
            "data": [{"x": [1, 2], "name": 'say "hi" </script>'}, {"x": [1, 2], "name": "ü"}],
            "layout": {"title": {"text": "a\\b\n"}, "width": 9},
            "config": {"k": [1, 2]},
        },
        {
            "data": [{"x": [1, 2], "name": "ü"}],
            "layout": {"title": {"text": "a\\b\n"}, "width": 10},
            "config": {"k": [1, 2]},
        },
    ],
    # a field that is neither a dict nor a list of dicts is stored whole
    "values": [{"n": 1, "list": [1, [2, 3]], "text": "x"}, {"n": 1, "list": [], "text": None}],
}


def fixtures() -> dict[str, str]:
    """File name -> text of every fixture."""
    out = {f"{name}.json": problem_fixture(name) for name in PROBLEMS}
    out["edges.json"] = edges_fixture()
    return {name: _dump(data) for name, data in out.items()}


def _dump(data: dict[str, Any]) -> str:
    """JSON with a line per entry of each top-level object (small files, readable diffs)."""
    fields = []
    for key, value in data.items():
        if isinstance(value, dict):
            inner = ",\n".join(f"  {_compact(k)}: {_compact(v)}" for k, v in value.items())
            fields.append(f" {_compact(key)}: {{\n{inner}\n }}")
        else:
            fields.append(f" {_compact(key)}: {_compact(value)}")
    return "{\n" + ",\n".join(fields) + "\n}\n"


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=FIXTURES)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, text in fixtures().items():
        (args.out_dir / name).write_text(text, encoding="utf-8")
        print(f"wrote {args.out_dir / name} ({len(text):,} characters)")


if __name__ == "__main__":
    main()
