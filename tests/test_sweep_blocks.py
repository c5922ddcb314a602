"""Sweeps over budgets, the solvers' gap, the Pareto front, and block grouping."""

from __future__ import annotations

import numpy as np
import pytest
from factory import make_problem

import mpq_core as m


@pytest.fixture(scope="module")
def sample(sample_problem):
    return sample_problem


def test_sweep_matches_single_solves(sample):
    df = m.sweep_budgets(sample, solvers=("greedy", "exact"))
    assert len(df) == 202
    assert df["multiplier"].iloc[::2].tolist() == list(m.DEFAULT_MULTIPLIERS)
    for mult in (0.2, 0.5, 0.9):
        for solver in ("greedy", "exact"):
            row = df[(df.multiplier == mult) & (df.solver == solver)].iloc[0]
            single = m.solve(sample, mult, solver)
            assert row.objective == single.objective
            assert row.cost_gbops == single.cost / m.GIGA
            assert row.layers_4 + row.layers_8 + row.layers_16 == 314
            assert row.bops_share_4 + row.bops_share_8 + row.bops_share_16 == pytest.approx(1)
    feasible = df[df.feasible]
    assert (feasible.cost_gbops <= feasible.budget_gbops).all()
    assert (~df[df.multiplier < sample.min_multiplier()].feasible).all()


def test_solve_budgets_keeps_each_allocation_of_its_table(sample):
    grid = (0.05, 0.2, 0.37, 0.8)
    swept = m.solve_budgets(sample, grid, solvers=("greedy", "exact"))
    assert swept.multipliers == grid
    assert swept.table.equals(m.sweep_budgets(sample, grid, solvers=("greedy", "exact")))
    for solver in ("greedy", "exact"):
        kept = swept.solutions[solver]
        assert len(kept) == len(grid)
        rows = swept.table[swept.table.solver == solver]
        for mult, solution, row in zip(grid, kept, rows.itertuples(), strict=True):
            single = m.solve(sample, mult, solver)  # an independent solve of that budget
            assert solution.multiplier == row.multiplier == mult
            assert solution.status == single.status == row.status
            assert np.array_equal(solution.choice, single.choice)
            if solution.feasible:
                assert row.cost_gbops == solution.cost / m.GIGA


def test_solver_gap(sample):
    gap = m.solver_gap(m.sweep_budgets(sample, [0.05, 0.3, 0.6], solvers=("greedy", "exact")))
    assert gap.multiplier.tolist() == [0.05, 0.3, 0.6]
    assert np.isnan(gap.gap[0])  # infeasible
    assert (gap.gap[1:] >= 0).all()
    assert (gap.lp_bound[1:] >= gap.exact_objective[1:]).all()
    row = gap.iloc[1]
    assert row.gap_pct == pytest.approx(
        (row.exact_objective - row.greedy_objective) / row.exact_objective * 100
    )


def test_pareto_front_is_increasing():
    p = make_problem([1, 10, 3], [1.0, 9.0, 0.5])
    front = m.pareto_front(m.sweep_budgets(p))
    assert front.cost_gbops.is_monotonic_increasing
    assert front.objective.is_monotonic_increasing and front.objective.is_unique


@pytest.mark.parametrize(
    "name, expected",
    [
        ("conv_in", ("conv_in", 0)),
        ("time_embedding.linear_1", ("time_embedding", 1)),
        ("down_blocks.2.attentions.0.proj_in", ("down_blocks.2", 102)),
        ("mid_block.resnets.0.conv1", ("mid_block", 300)),
        ("up_blocks.3.resnets.0.conv1", ("up_blocks.3", 403)),
        ("conv_norm_out", ("conv_out", 500)),
        ("conv_out", ("conv_out", 500)),
        ("encoder.layer.3.attention.self.query", ("encoder.layer.3", 1000)),
        ("model.layers.10.mlp.up_proj", ("model.layers.10", 1000)),
        ("classifier.1", ("classifier", 1000)),
        ("fc", ("fc", 1000)),
    ],
)
def test_block_of(name, expected):
    assert m.block_of(name) == expected


def test_group_blocks_network_order_every_layer_once(sample):
    blocks = m.group_blocks(sample.names)
    assert [b.name for b in blocks] == [
        "conv_in", "time_embedding", "down_blocks.0", "down_blocks.1", "down_blocks.2",
        "down_blocks.3", "mid_block", "up_blocks.0", "up_blocks.1", "up_blocks.2", "up_blocks.3",
        "conv_out",
    ]  # fmt: skip
    indices = [i for b in blocks for i in b.layers]
    assert sorted(indices) == list(range(314))


def test_group_blocks_fallback_first_seen():
    blocks = m.group_blocks(["b.x.w", "a.y.w", "b.x.v", "c"])
    assert [(b.name, b.layers) for b in blocks] == [("b.x", (0, 2)), ("a.y", (1,)), ("c", (3,))]


def test_infeasible_rows_report_no_allocation(sample):
    df = m.sweep_budgets(sample, [0.0, 0.05, 0.5])
    infeasible = df[~df.feasible]
    assert infeasible.multiplier.tolist() == [0.0, 0.05]
    assert infeasible[["cost_gbops", "utilization", "objective"]].isna().all().all()
    assert (infeasible.layers_4 == 0).all()
    assert df[df.feasible].utilization.iloc[0] == pytest.approx(m.solve(sample, 0.5).utilization)


def test_sweep_with_both_solvers_carries_the_gap(sample):
    df = m.sweep_budgets(sample, [0.05, 0.3], solvers=("greedy", "exact"))
    row = df[(df.multiplier == 0.3)]
    greedy, exact = row[row.solver == "greedy"].iloc[0], row[row.solver == "exact"].iloc[0]
    assert greedy.greedy_gap == exact.greedy_gap == exact.objective - greedy.objective
    assert exact.greedy_gap_pct == pytest.approx(exact.greedy_gap / exact.objective * 100)
    assert df[df.multiplier == 0.05].greedy_gap.isna().all()
    assert "greedy_gap" not in m.sweep_budgets(sample, [0.3]).columns


def test_greedy_gap_of_two_solutions_matches_the_sweep(sample):
    row = m.solver_gap(m.sweep_budgets(sample, [0.3], solvers=("greedy", "exact"))).iloc[0]
    gap, pct = m.greedy_gap(m.solve(sample, 0.3, "exact"), m.solve(sample, 0.3))
    assert (gap, pct) == (row.gap, row.gap_pct)
    assert gap > 0  # the greedy is not optimal at 0.3 on the sample
    infeasible = m.greedy_gap(m.solve(sample, 0.05, "exact"), m.solve(sample, 0.05))
    assert all(np.isnan(v) for v in infeasible)


@pytest.mark.parametrize("kind", ["budgets", "limits", "grid"])
def test_a_sweep_stops_when_asked_and_returns_nothing(sample, kind):
    """``stop`` is asked before each solve; the sweep ends at the first True, with no table."""
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 3

    limits = [m.Limit("bops", "0.5x"), m.Limit("mean_wbits", "8")]
    with pytest.raises(m.Stopped):
        if kind == "budgets":
            m.sweep_budgets(sample, solvers=("greedy", "exact"), stop=stop)
        elif kind == "limits":
            m.sweep_limits(sample, limits, solvers=("greedy",), stop=stop)
        else:
            m.sweep_grid(sample, limits, values=((0.2, 0.5), (4.0, 8.0)), stop=stop)
    assert len(asked) == 4  # three solves, then the stop


def test_a_sweep_that_is_never_stopped_is_the_plain_sweep(sample):
    plain = m.sweep_budgets(sample, [0.2, 0.5, 0.8])
    asked = m.sweep_budgets(sample, [0.2, 0.5, 0.8], stop=lambda: False)
    assert plain.equals(asked)
