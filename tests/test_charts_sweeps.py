"""The figures across budgets: what the budget buys, the unused budget, the solver gap and the
comparison of several budgets, checked against the sweep tables they are drawn from."""

from __future__ import annotations

import math

import pytest
from factory import expected_shares, make_problem, sample, sample_sweep

import mpq_core as mc
from mpq_core import charts
from mpq_core.report.display import gap_percent, percent


def _trace(fig, name: str, yaxis: str | None = None):
    found = [t for t in fig.data if t.name == name and yaxis in (None, t.yaxis or "y")]
    assert len(found) == 1, [(t.name, t.yaxis) for t in fig.data]
    return found[0]


def _same(shown, expected) -> None:
    """Trace values against a column: None exactly where the column is NaN."""
    assert len(shown) == len(expected)
    for a, b in zip(shown, expected, strict=True):
        assert (a is None) if b is None or math.isnan(b) else a == pytest.approx(b)


# --- marginal gains, by hand -----------------------------------------------------------------


def test_marginal_gains_of_a_hand_solved_layer():
    # one layer of 100 MACs, plus4: 4/8/16 bits cost 3,200 / 9,600 / 25,600 BOPs; gains 1 and
    # 0.2 (discount), so the objective is 0, 1/1.2 and 1 of the maximum at those budgets
    problem = make_problem([100], [1.0])
    sweep = mc.sweep_budgets(problem, [0.0, 0.125, 0.375, 1.0])
    gains = charts.marginal_gains(sweep, "greedy")
    assert gains["start"].tolist() == [0.125, 0.375]  # 0.0 is infeasible: no step from it
    assert gains["end"].tolist() == [0.375, 1.0]
    assert gains["gbops"].tolist() == pytest.approx([6_400e-9, 16_000e-9])
    assert gains["gain"].tolist() == pytest.approx([100 / 1.2, 100 - 100 / 1.2])
    assert gains["per_gbop"].tolist() == pytest.approx(
        [(100 / 1.2) / 6_400e-9, (100 - 100 / 1.2) / 16_000e-9]
    )


# --- what the budget buys --------------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.13, 0.37, 0.5, 0.915, 1.0])
def test_budget_curve_draws_the_sweep_and_marks_the_current_budget(multiplier):
    sweep = sample_sweep()
    solution = mc.solve(sample(), multiplier)
    fig = charts.plot_budget_curve(sweep, solution)
    rows = sweep[sweep["solver"] == "greedy"].sort_values("multiplier")
    objective = _trace(fig, "greedy", "y")
    assert list(objective.x) == rows["multiplier"].tolist()
    _same(list(objective.y), (rows["objective_share"] * 100).where(rows["feasible"]).tolist())

    gains = charts.marginal_gains(sweep, "greedy")
    steps = _trace(fig, "greedy", "y2")
    assert steps.line.shape == "hv"  # each value holds from its budget to the next
    assert list(steps.x) == [*gains["start"], gains["end"].iloc[-1]]
    zero = _zero_line(fig)  # one step of the sample (0.93 -> 0.94) buys nothing
    per = [v if v > 0 else zero for v in gains["per_gbop"]]
    _same(list(steps.y), [*per, per[-1]])
    assert fig.layout.yaxis2.type == "log"

    top, bottom = (_trace(fig, "current budget", y) for y in ("y", "y2"))
    assert list(top.x) == list(bottom.x) == [multiplier]
    assert top.y[0] == pytest.approx(solution.objective_share * 100)
    step = gains[gains["start"] <= multiplier + 1e-12].iloc[-1]  # the step from this budget on
    assert bottom.y[0] == pytest.approx(step["per_gbop"] if step["per_gbop"] > 0 else zero)
    lines = [s for s in fig.layout.shapes if s.name == "current budget"]
    assert [(s.x0, s.xref) for s in lines] == [(multiplier, "x"), (multiplier, "x2")]


def test_budget_curve_shows_the_view_solver_only():
    """Regression: the greedy and exact lines lay on top of each other (one visible line)."""
    sweep = sample_sweep(("greedy", "exact"))
    exact = mc.solve(sample(), 0.4, "exact")
    fig = charts.plot_budget_curve(sweep, exact)
    assert {t.name for t in fig.data if t.mode == "lines"} == {"exact"}
    rows = sweep[sweep["solver"] == "exact"].sort_values("multiplier")
    _same(
        list(_trace(fig, "exact", "y").y),
        (rows["objective_share"] * 100).where(rows["feasible"]).tolist(),
    )
    greedy = charts.plot_budget_curve(sweep, mc.solve(sample(), 0.4))
    assert {t.name for t in greedy.data if t.mode == "lines"} == {"greedy"}


def test_budget_curve_at_an_infeasible_budget_marks_no_point():
    problem = sample()
    solution = mc.solve(problem, 0.05)
    fig = charts.plot_budget_curve(sample_sweep(), solution)
    for yaxis in ("y", "y2"):
        marker = _trace(fig, "current budget", yaxis)
        assert list(marker.x) == [0.05] and list(marker.y) == [None]
    (label,) = [a for a in fig.layout.annotations if a.name == "current budget"]
    assert label.text == "m = 0.05 · infeasible"
    regions = [s for s in fig.layout.shapes if s.name == "infeasible"]
    assert [(s.x0, s.x1) for s in regions] == [
        (0, mc.feasibility_threshold(problem).multiplier)
    ] * 2
    _labelled_infeasible(fig, problem)
    assert fig.layout.showlegend is False  # one solver, named in the subtitle


def _labelled_infeasible(fig, problem: mc.Problem) -> None:
    """The shaded strip says what it is, written up the strip (not in a legend that wraps)."""
    (label,) = [a for a in fig.layout.annotations if a.name == "infeasible"]
    threshold = mc.feasibility_threshold(problem)
    assert label.text == f"infeasible<br>m < {threshold.text}" == "infeasible<br>m < 0.125"
    assert label.textangle == -90
    assert label.x == pytest.approx(threshold.multiplier / 2)


def _zero_line(fig) -> float:
    """Where the lower panel of the budget curve draws a step that buys nothing."""
    axis = fig.layout.yaxis2
    assert axis.ticktext[0] == "0"
    return axis.tickvals[0]


# --- budget left unused ----------------------------------------------------------------------


def test_slack_is_budget_minus_cost_for_every_solver():
    sweep = sample_sweep(("greedy", "exact"))
    solution = mc.solve(sample(), 0.42, "exact")
    fig = charts.plot_slack(sweep, solution)
    for solver in ("greedy", "exact"):
        rows = sweep[sweep["solver"] == solver].sort_values("multiplier")
        line = _trace(fig, solver)
        assert list(line.x) == rows["multiplier"].tolist()
        unused = (rows["budget_gbops"] - rows["cost_gbops"]).where(rows["feasible"])
        _same(list(line.y), unused.tolist())
        for shown, fraction in zip(line.text, unused / rows["budget_gbops"], strict=True):
            assert shown == (
                "" if math.isnan(fraction) else f"{percent(fraction, 2)} of the budget"
            )
    greedy, exact = _trace(fig, "greedy"), _trace(fig, "exact")
    # two lines one can tell apart: colour, dash and marker differ
    assert greedy.line.color != exact.line.color
    assert (greedy.line.dash, exact.line.dash) == ("solid", "dash")
    assert (greedy.marker.symbol, exact.marker.symbol) == ("circle", "diamond")
    # and they do differ on the sample: the exact solver packs the budget tighter somewhere
    assert any(
        g is not None and e is not None and g - e > 1
        for g, e in zip(greedy.y, exact.y, strict=True)
    )
    current = _trace(fig, "current budget")
    assert list(current.x) == [0.42]
    assert current.y[0] == pytest.approx((solution.budget - solution.cost) / mc.GIGA)
    infeasible = charts.plot_slack(sweep, mc.solve(sample(), 0.05))
    assert list(_trace(infeasible, "current budget").y) == [None]
    _labelled_infeasible(infeasible, sample())
    # the legend names the solvers only: short enough for one row of a narrow chart
    assert [t.name for t in fig.data if t.showlegend is not False] == ["greedy", "exact"]


# --- solver gap ------------------------------------------------------------------------------


def test_solver_gap_figure_shows_each_solver_below_the_bound_and_the_gap():
    problem = sample()
    gap = mc.solver_gap(sample_sweep(("greedy", "exact")))
    solution = mc.solve(problem, 0.42, "exact")
    fig = charts.plot_solver_gap(gap, solution)
    feasible = gap["feasible"].tolist()
    lp = gap["lp_bound"]
    for name, yaxis, expected in (
        ("greedy", "y", (lp - gap["greedy_objective"]) / lp * 100),
        ("exact", "y", (lp - gap["exact_objective"]) / lp * 100),
        ("LP bound", "y", lp * 0.0),
        ("greedy gap (% of exact)", "y2", gap["gap_pct"]),
    ):
        trace = _trace(fig, name, yaxis)
        for ok, a, b in zip(feasible, trace.y, expected.tolist(), strict=True):
            assert (a is None) if not ok else a == pytest.approx(max(b, 0.0), abs=1e-12)
    bars = _trace(fig, "greedy gap (% of exact)")
    assert list(bars.text) == [gap_percent(v) for v in gap["gap_pct"]]  # the app's format
    for name, column in (("greedy", "greedy_objective"), ("exact", "exact_objective")):
        kept = [v for v in _trace(fig, name).customdata if v is not None]
        assert kept == pytest.approx(gap.loc[gap["feasible"], column].tolist())
    current = [(s.x0, s.xref) for s in fig.layout.shapes if s.name == "current budget"]
    assert current == [(0.42, "x"), (0.42, "x2")]
    greedy_below = [v for v in _trace(fig, "greedy").y if v is not None]
    exact_below = [v for v in _trace(fig, "exact").y if v is not None]
    assert all(g >= e - 1e-9 >= -1e-9 for g, e in zip(greedy_below, exact_below, strict=True))
    assert max(g - e for g, e in zip(greedy_below, exact_below, strict=True)) > 1e-3
    _labelled_infeasible(fig, problem)
    assert fig.layout.meta["file"] == "solver_gap_m0.42"
    assert fig.layout.title.subtitle.text == (
        "stable-diffusion-v1-4 UNet2DConditionModel · m = 0.42 · greedy vs exact · W4/8/16"
    )  # one line: a page-wide figure


# --- comparison ------------------------------------------------------------------------------


def test_distribution_compare_stacks_each_budget_and_keeps_infeasible_ones_empty():
    problem = sample()
    solutions = [mc.solve(problem, m) for m in (0.05, 0.3, 0.5, 0.7)]
    fig = charts.plot_distribution_compare(solutions)
    assert fig.layout.barmode == "stack"
    counts = [t for t in fig.data if t.xaxis in (None, "x")]
    shares = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in counts] == [f"{w}-bit" for w in problem.widths]
    assert [t.marker.color for t in counts] == [charts.width_color(w) for w in problem.widths]
    assert list(counts[0].x) == ["m = 0.05 (infeasible)", "m = 0.30", "m = 0.50", "m = 0.70"]
    assert [t.y[0] for t in counts + shares] == [None] * (2 * len(problem.widths))
    for s, solution in enumerate(solutions[1:], start=1):
        expected = expected_shares(solution)
        assert [t.y[s] for t in counts] == [n for _, n, _ in expected]
        assert [t.y[s] for t in shares] == pytest.approx([100 * x for _, _, x in expected])
        assert [t.customdata[s] for t in shares] == [percent(x, 2) for _, _, x in expected]
    notes = [(a.text, a.x) for a in fig.layout.annotations if a.name == "infeasible"]
    assert notes == [("infeasible", "m = 0.05 (infeasible)")] * 2
    assert fig.layout.meta["file"] == "distribution_m0.05-0.30-0.50-0.70"
    assert "m = 0.05, 0.30, 0.50, 0.70" in fig.layout.title.subtitle.text
    with pytest.raises(ValueError):
        charts.plot_distribution_compare([])


def test_width_changes_lists_only_the_layers_that_differ_with_each_width():
    problem = make_problem(
        [1.0, 1.0, 2.0],
        [0.9, 0.1, 0.5],
        names=["down.conv", "mid.attn", "up.conv"],
    )
    low, high = mc.solve(problem, 0.25), mc.solve(problem, 1.0)
    assert high.wbits.tolist() == [16, 16, 16]
    table = mc.width_changes([low, high], ["m = 0.25", "m = 1.00"])
    differ = [n for n, a, b in zip(problem.names, low.wbits, high.wbits, strict=True) if a != b]
    assert differ  # the low budget leaves some layer below 16 bits
    assert list(table.columns) == ["layer", "m = 0.25", "m = 1.00", "block", "type", "macs"]
    assert table["layer"].tolist() == differ
    for row in table.itertuples(index=False):
        i = problem.names.index(row.layer)
        assert (row[1], row[2]) == (low.wbits[i], high.wbits[i])
    assert mc.width_changes([high, high], ["a", "b"]).empty
    with pytest.raises(ValueError, match="2 solutions but 1 labels"):
        mc.width_changes([low, high], ["only one"])


def test_format_changes_list_the_layers_whose_format_differs_even_at_one_width():
    """int4_g128 -> nvfp4 keeps 4-bit weights: a change of format all the same."""
    from mpq_core.model.formats import catalog_formats

    inputs = mc.load_inputs(*mc.sample_inputs("minilm_formats"))
    spec = mc.Spec(formats=catalog_formats("int4_g128,nvfp4,fp8,bf16"))
    problem = mc.build_problem(inputs, spec)
    a = mc.solve(problem, solver="exact", limits=[mc.Limit("bpw", "4.3")])
    b = mc.solve(problem, solver="exact", limits=[mc.Limit("bpw", "4.6")])
    names = problem.option_labels
    differ = [n for n, i, j in zip(problem.names, a.choice, b.choice, strict=True) if i != j]
    same_width = [n for n in differ if a.wbits[problem.names.index(n)] == 4 == b.wbits[
        problem.names.index(n)]]  # fmt: skip
    assert differ and same_width  # some layer goes from one 4-bit format to another
    table = mc.width_changes([a, b], ["bpw 4.3", "bpw 4.6"])
    assert table["layer"].tolist() == differ
    for row in table.itertuples(index=False):
        i = problem.names.index(row.layer)
        assert (row[1], row[2]) == (names[a.choice[i]], names[b.choice[i]])


# --- what the next GBOP buys, on every bundled sample and ladder (issue 19, item 13) -----------

_SAMPLES = mc.SAMPLES["sd14"].flops_path.parents[1]


def _bundled(name: str, **settings) -> mc.Problem:
    if name in mc.SAMPLES:
        return mc.load_problem(*mc.sample_paths(name), **settings)
    folder = _SAMPLES / name
    sens = next(p for p in folder.glob("sensitivity.*") if p.suffix in (".json", ".yaml"))
    return mc.load_problem(folder / "flops.json", sens, **settings)


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("sd14", {}),
        ("sd14", {"bits": (4, 8)}),
        ("sd14", {"bits": (2, 4, 8)}),
        ("sd14_per_bit", {}),
        ("minilm", {}),
        ("minilm", {"bits": (4, 8)}),
        ("hawq_v3_resnet18", {}),
        ("hawq_v3_resnet18", {"abit_rule": "match"}),
        ("hawq_v3_resnet50", {"abit_rule": "match"}),
        ("mixdq_sdxl_turbo", {"bits": (2, 4, 8), "name_prefix": "model."}),
    ],
    ids=lambda v: str(v),
)
def test_every_step_of_what_the_next_gbop_buys_is_drawn(name, settings):
    """Regression: zeros vanished from the log axis: the HAWQ ResNet18 line stopped at
    m = 0.42 and with a 4/8 ladder the panel was empty. A step that buys nothing sits on the
    "0" line under the log scale."""
    problem = _bundled(name, **settings)
    sweep = mc.sweep_budgets(problem)
    fig = charts.plot_budget_curve(sweep, mc.solve(problem, 0.6))
    gains = charts.marginal_gains(sweep, "greedy")
    steps = _trace(fig, "greedy", "y2")
    axis = fig.layout.yaxis2
    nothing = gains["per_gbop"] <= 0
    assert (axis.ticktext[0] == "0") == bool(nothing.any())
    zero = axis.tickvals[0] if nothing.any() else None
    expected = [v if v > 0 else zero for v in gains["per_gbop"]]
    assert list(steps.y) == pytest.approx([*expected, expected[-1]])
    assert None not in steps.y  # every step of the sweep is drawn
    low, high = (10**v for v in axis.range)
    assert all(low < y < high for y in steps.y)  # and inside the axis
    assert all(low <= t <= high for t in axis.tickvals)


def test_a_sweep_with_one_feasible_budget_says_there_is_no_step():
    problem = make_problem([10, 20], [0.5, 0.1], pins={"layer0": 16, "layer1": 16})
    sweep = mc.sweep_budgets(problem, [0.5, 1.0])
    fig = charts.plot_budget_curve(sweep, mc.solve(problem, 1.0))
    notes = [a.text for a in fig.layout.annotations if a.name == "no steps"]
    assert notes == ["fewer than two feasible budgets: no step to measure"]
