"""The single-format baselines of an allocation of formats: every layer at one format.

A candidate set is worth its mixing only when the allocation beats quantizing the whole model
one way; these are the baselines a paper compares against (uniform W4A16, FP8, NVFP4...).
Where a layer may not take the format (its search space, a pin), it keeps the format the
allocation gave it, so the baseline changes only what that format could change. Each baseline
is checked against every limit with the same exact test of "fits" as the solvers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..solving.solution import Solution


@dataclass(frozen=True)
class Uniform:
    """One format for every layer that may take it."""

    name: str
    objective: float
    meets_limits: bool
    layers: int  # the layers at the format (the others keep the allocation's)


def uniform_baselines(solution: Solution) -> list[Uniform]:
    """Each chosen format as a baseline, in the formats' order (empty without formats)."""
    problem = solution.problem
    if problem.formats is None or not solution.feasible:
        return []
    out = []
    for j, fmt in enumerate(problem.formats):
        choice = np.where(problem.allowed[:, j], j, solution.choice)
        out.append(
            Uniform(
                name=fmt.name,
                objective=problem.objective_of(choice),
                meets_limits=all(b.fits(choice) for b in solution.bounds),
                layers=int(problem.allowed[:, j].sum()),
            )
        )
    return out


def best_uniform(baselines: list[Uniform]) -> Uniform | None:
    """The baseline of largest objective among those within the limits (the first of equals)."""
    within = [b for b in baselines if b.meets_limits]
    return max(within, key=lambda b: b.objective) if within else None


def uniform_line(solution: Solution) -> str | None:
    """``Best single format within the limits: int8 (objective 0.0061); this allocation
    recovers 23.4% more`` for an allocation of formats; None otherwise."""
    baselines = uniform_baselines(solution)
    if not baselines:
        return None
    best = best_uniform(baselines)
    if best is None:
        return "No single format meets every limit (each layer that may take it at that format)"
    line = f"Best single format within the limits: {best.name} (objective {best.objective:.4f})"
    if best.objective == 0 or not math.isfinite(best.objective):
        return line
    change = (solution.objective - best.objective) / abs(best.objective) * 100
    if change >= 0:
        return f"{line}; this allocation recovers {change:.1f}% more"
    return (
        f"{line}; this allocation recovers {-change:.1f}% less: the exact solver never does "
        "(a single format within the limits is one of its candidates)"
    )
