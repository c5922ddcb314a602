"""Where allocations differ: the layers whose weight width (or format) changes between
solutions."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..model.blocks import block_of
from ..solving.solution import Solution


def width_changes(solutions: Sequence[Solution], labels: Sequence[str]) -> pd.DataFrame:
    """Layers whose weight width differs between the solutions (of one problem), one width
    column per solution named by ``labels``, right after the name; then block, type, MACs.
    With formats, the layers whose format differs, each column holding format names (two
    formats may share a width: int4_g128 and nvfp4)."""
    if len(solutions) != len(labels):
        raise ValueError(f"{len(solutions)} solutions but {len(labels)} labels")
    if not solutions:
        raise ValueError("no solution to compare")
    problem = solutions[0].problem
    if any(s.problem.names != problem.names for s in solutions):
        raise ValueError("the solutions are of problems with different layers")
    frame = pd.DataFrame(
        {
            "layer": list(problem.names),
            "block": [block_of(name)[0] for name in problem.names],
            "type": list(problem.types),
            "macs": problem.macs,
        }
    )
    names = problem.option_labels
    for label, solution in zip(labels, solutions, strict=True):
        if problem.formats is None:
            frame[label] = solution.wbits.astype(int)
        else:
            frame[label] = [names[j] for j in solution.choice]
    columns = frame[list(labels)]
    differs = columns.ne(columns.iloc[:, 0], axis=0).any(axis=1)  # some differs from the first
    order = ["layer", *labels, "block", "type", "macs"]
    return frame.loc[differs, order].reset_index(drop=True)
