"""Phase 4: measure allocations with every layer at its width at once.

``evaluate`` measures one exported config. ``validate`` solves each budget with each solver
(through ``mpq_core``), measures every distinct allocation once, and writes the long-form CSV
of :mod:`mpq_core.report.agreement`; its summary gives the rank correlation between predicted
objective and measured quality, where the sum of one-layer losses stops predicting the measured
loss, and the budgets where the greedy and the exact allocation measure differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

import mpq_core as mpq
from mpq_core import InputError
from mpq_core.io.loading import read_json
from mpq_core.report.agreement import (
    ValidationResults,
    additivity,
    agreement,
    read_validation,
    solver_differences,
    validation_csv,
)

from .backends import RTN, RTN_BACKEND, Backend, backend_lines
from .cases import ModelCase
from .jsonio import rounded
from .metrics import LOSS, SCORE, Metrics, measure
from .progress import Progress

DEFAULT_BUDGETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
DEFAULT_SOLVERS = ("greedy", "exact")
ADDITIVITY_TOLERANCE = 0.2  # |measured / predicted loss - 1| above this is reported


@dataclass(frozen=True)
class Point:
    """One (budget, solver) solution and, when feasible, what was measured for it."""

    budget: float
    solver: str
    feasible: bool
    cost_gbops: float
    objective: float
    predicted_loss: float | None
    wbits: tuple[int, ...]
    metrics: Metrics | None = None


@dataclass(frozen=True)
class Validation:
    points: tuple[Point, ...]
    csv: str
    results: ValidationResults
    measured: int  # distinct allocations measured
    min_multiplier: float
    backend: str = RTN


def evaluate_config(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    saved: mpq.SavedConfig,
    progress: Progress | None = None,
    backend: Backend = RTN_BACKEND,
) -> Metrics:
    """Measure a config read by ``mpq_core.load_config`` with all its widths at once."""
    return measure(case, reference, dict(saved.wbits), saved.source, progress, backend)


def validate(
    case: ModelCase,
    reference: tuple[torch.Tensor, ...],
    flops: str | Path,
    sensitivity: str | Path,
    *,
    budgets: Sequence[float] = DEFAULT_BUDGETS,
    solvers: Sequence[str] = DEFAULT_SOLVERS,
    bits: Sequence[int] | None = None,
    abit_rule: str = "plus4",
    progress: bool = True,
    backend: Backend = RTN_BACKEND,
) -> Validation:
    """Solve, apply (by ``backend``) and measure every (budget, solver); the CSV and its
    summary."""
    _check_loss_form(sensitivity)
    problem = mpq.load_problem(flops, sensitivity, bits=bits, abit_rule=abit_rule)
    losses = _layer_losses(sensitivity, problem.names, problem.widths)
    points = []
    for budget in budgets:
        for solver in solvers:
            solution = mpq.solve(problem, budget, solver)
            wbits = tuple(int(w) for w in solution.wbits)
            predicted = None
            if losses is not None and solution.feasible:
                index = [problem.widths.index(w) for w in wbits]
                predicted = float(losses[np.arange(len(wbits)), index].sum())
            points.append(
                Point(
                    budget=float(budget),
                    solver=solver,
                    feasible=solution.feasible,
                    cost_gbops=solution.cost / mpq.GIGA,
                    objective=float(solution.objective),
                    predicted_loss=predicted,
                    wbits=wbits,
                )
            )
    distinct = list(dict.fromkeys(p.wbits for p in points if p.feasible))
    measured: dict[tuple[int, ...], Metrics] = {}
    source = str(sensitivity)
    with Progress(len(distinct), "validate", enabled=progress) as bar:
        for wbits in distinct:
            allocation = dict(zip(problem.names, wbits, strict=True))
            measured[wbits] = measure(case, reference, allocation, source, backend=backend)
            bar.advance()
    points = [replace(p, metrics=measured[p.wbits]) if p.feasible else p for p in points]
    text = validation_csv(_rows(case, points))
    results = read_validation(mpq.InputFile("validation.csv", text.encode()))
    minimum = problem.min_multiplier()
    return Validation(tuple(points), text, results, len(distinct), minimum, backend.name)


def summary_lines(run: Validation) -> list[str]:
    """What the validation showed, for the terminal."""
    points = run.points
    feasible = [p for p in points if p.feasible]
    budgets = sorted({p.budget for p in points})
    solvers = list(dict.fromkeys(p.solver for p in points))
    lines = [
        f"validated {len(budgets)} budget(s) x {len(solvers)} solver(s): {len(feasible)} "
        f"feasible, {run.measured} distinct allocation(s) measured"
    ]
    lines += backend_lines(run.backend)
    infeasible = sorted({p.budget for p in points if not p.feasible})
    if infeasible:
        lines.append(
            f"infeasible (below the all-lowest cost, multiplier {run.min_multiplier:.3f}): "
            + ", ".join(f"{b:.2f}" for b in infeasible)
        )
    if not feasible:
        return lines
    lines.append("Spearman rank correlation, predicted objective vs measured:")
    for metric in run.results.metrics:
        found = agreement(run.results, metric)
        note = ""
        if found.higher_is_better is False:
            note = f"  (lower is better: agreement {found.agreement:+.3f})"
        lines.append(f"  {metric:<10} rho = {found.rho:+.3f} over {len(found.table)} rows{note}")
    lines += _additivity_lines(run.results)
    lines += _difference_lines(run.results)
    return lines


def _additivity_lines(results: ValidationResults) -> list[str]:
    if LOSS not in results.metrics:
        return []
    table = additivity(agreement(results, LOSS)).dropna(subset=["ratio"])
    if table.empty:
        return []
    table = table.drop_duplicates("budget")
    lines = [
        f"additivity: measured {LOSS} / sum of one-layer losses = "
        f"{table['ratio'].min():.3f} .. {table['ratio'].max():.3f}"
    ]
    off = table[(table["ratio"] - 1).abs() > ADDITIVITY_TOLERANCE]
    if off.empty:
        lines.append(f"  within {ADDITIVITY_TOLERANCE:.0%} at every budget")
    else:
        shown = ", ".join(
            f"{b:.2f} ({r:.2f}x)" for b, r in zip(off["budget"], off["ratio"], strict=True)
        )
        lines.append(f"  off by more than {ADDITIVITY_TOLERANCE:.0%} at: {shown}")
    return lines


def _difference_lines(results: ValidationResults) -> list[str]:
    metric = next((m for m in results.metrics if m not in (LOSS, SCORE)), LOSS)
    diffs = solver_differences(agreement(results, metric))
    if diffs.empty:
        return ["greedy and exact: the same allocation at every budget (or only one solver ran)"]
    lines = [f"greedy and exact differ at {len(diffs)} budget(s) (measured {metric}):"]
    for row in diffs.itertuples(index=False):
        lines.append(
            f"  {row.budget:.2f}: greedy {row.greedy_value:.6g}, exact {row.exact_value:.6g} "
            f"-> {row.measured_better} measured better"
        )
    return lines


def _rows(case: ModelCase, points: Sequence[Point]) -> list[dict]:
    task = case.task_metric
    directions = {LOSS: False, SCORE: True}
    if task is not None:
        directions[task.name] = task.higher_is_better
    rows = []
    for point in points:
        if point.metrics is None:
            continue
        for metric, value in point.metrics.as_dict(task.name if task else None).items():
            rows.append(
                {
                    "budget": f"{point.budget:.2f}",
                    "solver": point.solver,
                    "cost_gbops": rounded(point.cost_gbops),
                    "predicted_objective": rounded(point.objective),
                    "predicted_loss": (
                        None if point.predicted_loss is None else rounded(point.predicted_loss)
                    ),
                    "metric": metric,
                    "value": rounded(value),
                    "higher_is_better": directions[metric],
                }
            )
    return rows


def _check_loss_form(sensitivity: str | Path) -> None:
    label, _, data = read_json(sensitivity)
    meta = data.get("metadata") if isinstance(data, dict) else None
    if isinstance(meta, Mapping) and meta.get("higher_is_better") is True:
        raise InputError(
            label,
            "is a score file (higher is better); validate needs the loss form "
            "(sensitivity_mse.json)",
            field="metadata.higher_is_better",
        )


def _layer_losses(
    sensitivity: str | Path, names: Sequence[str], widths: Sequence[int]
) -> np.ndarray | None:
    """(layers, widths) per-bit losses when the file is the per-bit mapping form, else None."""
    _, _, data = read_json(sensitivity)
    table = data.get("sensitivity") if isinstance(data, dict) else None
    if not isinstance(table, Mapping):
        return None
    out = np.zeros((len(names), len(widths)))
    for i, name in enumerate(names):
        row = table.get(name)
        if not isinstance(row, Mapping):
            return None
        for j, width in enumerate(widths):
            value = row.get(str(width))
            if not isinstance(value, int | float):
                return None
            out[i, j] = float(value)
    return out
