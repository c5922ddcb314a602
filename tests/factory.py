"""Build small problems from plain lists, through the same parsers as real files."""

from __future__ import annotations

from collections.abc import Sequence

from mpq_core import build_problem
from mpq_core.loading import align_inputs, parse_layers, parse_sensitivity


def make_problem(
    macs: Sequence[float],
    sens: Sequence[float] | Sequence[dict[str, float]],
    *,
    names: Sequence[str] | None = None,
    **settings,
):
    names = list(names) if names is not None else [f"layer{i}" for i in range(len(macs))]
    layers = parse_layers(
        {"layers": {n: {"macs": m} for n, m in zip(names, macs, strict=True)}}, "f.json"
    )
    table = parse_sensitivity({"sensitivity": dict(zip(names, sens, strict=True))}, "s.json")
    return build_problem(align_inputs(layers, table), **settings)
