"""Greedy against the exact optimum: summary figures of a solver_gap table, one budget in detail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mpq_core import Solution, SolverGap
from mpq_core.report.display import gap_percent, gbops

from .text import plain, score

_SAME = 1e-9  # a gap (in %) this small is rounding: the greedy found the optimum


def gap_summary(gap: pd.DataFrame) -> None:
    """Largest and mean gap over the feasible budgets, and how often the greedy is optimal."""
    rows = gap[gap["feasible"]]
    if rows.empty:
        st.info("No feasible budget on the grid.")
        return
    worst = rows.loc[rows["gap_pct"].idxmax()]
    optimal = int((rows["gap_pct"] <= _SAME).sum())
    first, second, third = st.columns(3)
    first.metric(
        "Largest greedy gap",
        gap_percent(worst["gap_pct"]),
        help=f"at m = {worst['multiplier']:.2f}",
        border=True,
    )
    second.metric("Mean greedy gap", gap_percent(rows["gap_pct"].mean()), border=True)
    third.metric(
        "Greedy optimal at",
        f"{optimal} of {len(rows)} budgets",
        help="budgets where the greedy reaches the exact optimum",
        border=True,
    )


def solver_pair(greedy: Solution, exact: Solution, gap: SolverGap) -> None:
    """Objective and cost of both solvers at one budget, with the LP bound and the gap."""
    if not exact.feasible:
        st.warning(plain(exact.message), icon=":material/block:")
        return
    with st.container(key="solver_cards"):  # short figures: four fit an 800 px row
        cols = st.columns(4)
    cols[0].metric(
        "Greedy objective", score(greedy.objective), help=gbops(greedy.cost), border=True
    )
    cols[1].metric("Exact objective", score(exact.objective), help=gbops(exact.cost), border=True)
    cols[2].metric("LP bound", score(gap.lp_bound), border=True)
    cols[3].metric("Greedy gap", gap_percent(gap.gap_pct), border=True)
