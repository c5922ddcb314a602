"""Phase 4 for formats: solve limits such as ``bpw<=6``, apply each allocation, measure.

Each limit is solved on its own with each solver (``mpq_core``, options = the formats of the
per-format loss file); every distinct allocation is applied with all its layers in their formats
at once (:func:`mpq_torch.formats_quant.formatted`) and measured once. The CSV has the columns of
the width validation CSV (docs/formats.md, "Phase 4 results") where they fit: ``limit`` (the
limit as written) takes the place of ``budget`` (a BOPs multiplier), and ``bpw`` (the
allocation's effective bits per weight, scales included) is added.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

import mpq_core as mpq
from mpq_core.model.formats import Format
from mpq_core.report.agreement import spearman

from .backends import RTN, RTN_BACKEND, Backend, backend_lines
from .cases import ModelCase
from .formats_sensitivity import measure_format
from .jsonio import rounded
from .metrics import LOSS, SCORE, Metrics
from .progress import Progress

COLUMNS = (
    "limit",
    "solver",
    "cost_gbops",
    "bpw",
    "predicted_objective",
    "predicted_loss",
    "metric",
    "value",
    "higher_is_better",
)
DEFAULT_LIMITS = ("bpw<=4.5", "bpw<=5", "bpw<=6", "bpw<=8")


@dataclass(frozen=True)
class FormatPoint:
    """One (limit, solver) solution and, when feasible, what was measured for it."""

    limit: str
    solver: str
    feasible: bool
    cost_gbops: float
    bpw: float
    objective: float
    predicted_loss: float
    formats: tuple[str, ...]
    metrics: Metrics | None = None


@dataclass(frozen=True)
class FormatValidation:
    points: tuple[FormatPoint, ...]
    csv: str
    rho: Mapping[str, float]  # metric -> Spearman's rho of predicted objective vs value
    higher_is_better: Mapping[str, bool]
    measured: int  # distinct allocations measured
    backend: str = RTN


def validate_formats(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    flops: str | Path,
    sensitivity: str | Path,
    formats: Sequence[Format],
    *,
    limits: Sequence[str] = DEFAULT_LIMITS,
    solvers: Sequence[str] = ("greedy", "exact"),
    progress: bool = True,
    backend: Backend = RTN_BACKEND,
) -> FormatValidation:
    """Solve, apply (by ``backend``) and measure every (limit, solver); the CSV and the rank
    correlations."""
    parsed = [mpq.parse_limit_flag(text, "--limits") for text in limits]
    problem = mpq.load_problem(flops, sensitivity, spec=mpq.Spec(formats=tuple(formats)))
    if problem.inputs.sensitivity.higher_is_better:
        raise mpq.InputError(
            str(sensitivity),
            "is a score file (higher is better); validate needs the loss form "
            "(sensitivity_formats.json)",
            field="metadata.higher_is_better",
        )
    losses = _losses(problem)
    points = [
        _solve(problem, losses, text, limit, solver)
        for text, limit in zip(limits, parsed, strict=True)
        for solver in solvers
    ]
    distinct = list(dict.fromkeys(p.formats for p in points if p.feasible))
    by_name = {f.name: f for f in problem.formats}
    measured: dict[tuple[str, ...], Metrics] = {}
    with Progress(len(distinct), "validate --formats", enabled=progress) as bar:
        for chosen in distinct:
            allocation = {n: by_name[f] for n, f in zip(problem.names, chosen, strict=True)}
            source = str(sensitivity)
            measured[chosen] = measure_format(case, reference, allocation, source, backend)
            bar.advance()
    points = [replace(p, metrics=measured[p.formats]) if p.feasible else p for p in points]
    directions = _directions(case)
    rows = _rows(points, directions)
    return FormatValidation(
        points=tuple(points),
        csv=_csv(rows),
        rho=_correlations(rows),
        higher_is_better=directions,
        measured=len(distinct),
        backend=backend.name,
    )


def _losses(problem: mpq.Problem) -> np.ndarray:
    """(layers, formats) one-layer losses in option order; an unquantized reference left out
    of the file counts 0 (as the loader reads it)."""
    sens = problem.inputs.sensitivity
    order = {name: i for i, name in enumerate(sens.names)}
    rows = [order[name] for name in problem.names]
    out = np.zeros((problem.n_layers, len(problem.formats)))
    for j, fmt in enumerate(problem.formats):
        if fmt.name in sens.formats:
            column = sens.losses[rows, sens.formats.index(fmt.name)]
            out[:, j] = np.nan_to_num(column, nan=0.0)
    return out


def _solve(
    problem: mpq.Problem, losses: np.ndarray, text: str, limit: mpq.Limit, solver: str
) -> FormatPoint:
    solution = mpq.solve(problem, None, solver, limits=[limit])
    choice = np.asarray(solution.choice)
    index = np.arange(problem.n_layers)
    bits = problem.resource("bpw")[index, choice].sum()
    return FormatPoint(
        limit=text,
        solver=solver,
        feasible=solution.feasible,
        cost_gbops=solution.cost / mpq.GIGA,
        bpw=float(bits / problem.params.sum()),
        objective=float(solution.objective),
        predicted_loss=float(losses[index, choice].sum()),
        formats=tuple(problem.formats[j].name for j in choice),
    )


def _directions(case: ModelCase) -> dict[str, bool]:
    directions = {LOSS: False, SCORE: True}
    if case.task_metric is not None:
        directions[case.task_metric.name] = case.task_metric.higher_is_better
    return directions


def _rows(points: Sequence[FormatPoint], directions: Mapping[str, bool]) -> list[dict]:
    rows = []
    for point in points:
        if point.metrics is None:
            continue
        task = next((m for m in directions if m not in (LOSS, SCORE)), None)
        for metric, value in point.metrics.as_dict(task).items():
            rows.append(
                {
                    "limit": point.limit,
                    "solver": point.solver,
                    "cost_gbops": rounded(point.cost_gbops),
                    "bpw": rounded(point.bpw),
                    "predicted_objective": rounded(point.objective),
                    "predicted_loss": rounded(point.predicted_loss),
                    "metric": metric,
                    "value": rounded(value),
                    "higher_is_better": str(directions[metric]).lower(),
                }
            )
    return rows


def _csv(rows: Sequence[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _correlations(rows: Sequence[dict]) -> dict[str, float]:
    metrics = dict.fromkeys(r["metric"] for r in rows)
    out = {}
    for metric in metrics:
        chosen = [r for r in rows if r["metric"] == metric]
        predicted = [r["predicted_objective"] for r in chosen]
        out[metric] = spearman(predicted, [r["value"] for r in chosen])
    return out


def formats_summary_lines(run: FormatValidation) -> list[str]:
    """What the validation showed, for the terminal (and the sample's summary file)."""
    points = run.points
    limits = list(dict.fromkeys(p.limit for p in points))
    feasible = [p for p in points if p.feasible]
    lines = [
        f"validated {len(limits)} limit(s) x {len({p.solver for p in points})} solver(s): "
        f"{len(feasible)} feasible, {run.measured} distinct allocation(s) measured"
    ]
    lines += backend_lines(run.backend)
    infeasible = [p.limit for p in points if not p.feasible]
    if infeasible:
        lines.append(f"infeasible: {', '.join(dict.fromkeys(infeasible))}")
    if not feasible:
        return lines
    lines.append("Spearman rank correlation, predicted objective vs measured:")
    for metric, rho in run.rho.items():
        note = ""
        if not run.higher_is_better[metric]:
            note = f"  (lower is better: agreement {-rho:+.3f})"
        lines.append(f"  {metric:<10} rho = {rho:+.3f} over {len(feasible)} rows{note}")
    lines.append("limit, solver: bpw, measured / predicted loss, formats used")
    return lines + [_point_line(p) for p in feasible]


def _point_line(point: FormatPoint) -> str:
    measured = point.metrics.mse if point.metrics is not None else math.nan
    ratio = measured / point.predicted_loss if point.predicted_loss > 0 else math.nan
    used = _format_counts(point.formats)
    return f"  {point.limit}, {point.solver}: {point.bpw:.4f} bpw, {ratio:.3f}x; {used}"


def _format_counts(formats: Sequence[str]) -> str:
    counts: dict[str, int] = {}
    for name in formats:
        counts[name] = counts.get(name, 0) + 1
    return ", ".join(f"{n} x{c}" for n, c in sorted(counts.items(), key=lambda kv: -kv[1]))
