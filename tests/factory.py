"""Build small problems from plain lists, through the same parsers as real files."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pandas as pd

import mpq_core as mc
from mpq_core import Problem, build_problem
from mpq_core.io.loading import align_inputs, parse_layers, parse_sensitivity
from mpq_core.io.resources import parse_resources


def make_problem(
    macs: Sequence[float],
    sens: Sequence[float] | Sequence[dict[str, float]],
    *,
    names: Sequence[str] | None = None,
    params: Sequence[float] | None = None,
    higher_is_better: bool = False,
    resources: dict | None = None,
    spec=None,
    **settings,
):
    """A Problem from lists; ``resources`` is ``{name: [{width: value}, ...]}`` per layer."""
    names = list(names) if names is not None else [f"layer{i}" for i in range(len(macs))]
    records = {}
    for i, (n, m) in enumerate(zip(names, macs, strict=True)):
        records[n] = {"macs": m} if params is None else {"macs": m, "params": params[i]}
    layers = parse_layers({"layers": records}, "f.json")
    meta = {"higher_is_better": True} if higher_is_better else {}
    table = parse_sensitivity(
        {"metadata": meta, "sensitivity": dict(zip(names, sens, strict=True))}, "s.json"
    )
    table_resources = None
    if resources is not None:
        table_resources = parse_resources(
            {
                "resources": {
                    res: {
                        n: {str(w): v for w, v in row.items()}
                        for n, row in zip(names, rows, strict=True)
                    }
                    for res, rows in resources.items()
                }
            },
            "r.json",
        )
    return build_problem(align_inputs(layers, table), spec, resources=table_resources, **settings)


def expected_shares(solution) -> list[tuple[int, int, float]]:
    """(width, layers, share of the BOPs) per width of the ladder, counted from the
    allocation's own widths and each layer's cost (not from ``Solution.width_shares``)."""
    problem = solution.problem
    wbits = solution.wbits.tolist()
    bops = [problem.costs[i, j] for i, j in enumerate(solution.choice.tolist())]
    total = sum(bops)
    return [
        (w, wbits.count(w), sum(b for b, x in zip(bops, wbits, strict=True) if x == w) / total)
        for w in problem.widths
    ]


@cache
def sample() -> Problem:
    """The bundled SD 1.4 sample with the default settings (built once per process)."""
    return mc.load_problem(*mc.sample_inputs())


@cache
def sample_sweep(solvers: tuple[str, ...] = ("greedy",)) -> pd.DataFrame:
    """Every multiplier 0.00..1.00 of :func:`sample` with these solvers (built once)."""
    return mc.sweep_budgets(sample(), solvers=solvers)
