"""The figure builders: the data inside each figure, checked against mpq_core's own results."""

from __future__ import annotations

import itertools
import math
from functools import cache

import pytest
from factory import make_problem

import mpq_core as mc
from mpq_core import charts


@cache
def _sample() -> mc.Problem:
    return mc.load_problem(*mc.sample_inputs())


@cache
def _sweep(solvers: tuple[str, ...] = ("greedy",)):
    return mc.sweep_budgets(_sample(), solvers=solvers)


def _heatmap_cells(fig):
    """{layer name: (row label, x position, option index)} read back from the heatmap trace."""
    heat = fig.data[0]
    assert heat.type == "heatmap"
    cells = {}
    for r, (names, zs) in enumerate(zip(heat.customdata, heat.z, strict=True)):
        for c, (name, z) in enumerate(zip(names, zs, strict=True)):
            if name is None:
                assert z is None  # padding is empty
                continue
            assert name not in cells, f"{name} drawn twice"
            cells[name] = (heat.y[r], heat.x[c], z)
    return cells


def _line(fig, name: str, yaxis: str):
    """The trace ``name`` drawn on ``yaxis`` ("y" top plot, "y2" bottom plot)."""
    found = [t for t in fig.data if t.name == name and (t.yaxis or "y") == yaxis]
    assert len(found) == 1, [(t.name, t.yaxis) for t in fig.data]
    return found[0]


def _trace(fig, name: str, index: int = 0):
    found = [t for t in fig.data if t.name == name]
    assert found, f"no trace {name!r} in {[t.name for t in fig.data]}"
    return found[index]


# --- heatmap --------------------------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.2, 0.5, 0.8])
def test_heatmap_has_every_layer_once_with_its_width(multiplier):
    problem = _sample()
    solution = mc.solve(problem, multiplier)
    cells = _heatmap_cells(charts.plot_bit_heatmap(solution))

    assert sorted(cells) == sorted(problem.names)
    for i, name in enumerate(problem.names):
        option = cells[name][2]
        assert problem.widths[option] == solution.wbits[i]


def test_heatmap_rows_are_blocks_in_network_order_layers_in_file_order():
    problem = _sample()
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.5))
    cells = _heatmap_cells(fig)
    blocks = mc.group_blocks(problem.names)

    assert list(fig.data[0].y) == [f"{b.name} ({len(b.layers)})" for b in blocks]
    assert [label.split(" ")[0] for label in fig.data[0].y][:3] == [
        "conv_in",
        "time_embedding",
        "down_blocks.0",
    ]
    assert fig.data[0].y[-1].startswith("conv_out")
    for block in blocks:
        positions = [cells[problem.names[i]][1] for i in block.layers]
        assert positions == list(range(1, len(block.layers) + 1))
        assert {cells[problem.names[i]][0] for i in block.layers} == {
            f"{block.name} ({len(block.layers)})"
        }
    assert tuple(fig.layout.yaxis.categoryarray) == tuple(fig.data[0].y)
    assert fig.layout.yaxis.autorange == "reversed"  # conv_in on top


def test_heatmap_discrete_colours_with_one_legend_entry_per_width():
    problem = _sample()
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.5))
    heat = fig.data[0]
    colors = charts.width_colors(problem.widths)
    k = len(problem.widths)
    assert (heat.zmin, heat.zmax) == (-0.5, k - 0.5)
    assert heat.showscale is False
    # a discrete scale: option j's band [j/k, (j+1)/k] has the width's colour at both ends
    scale = [(round(p, 9), c) for p, c in heat.colorscale]
    for j, width in enumerate(problem.widths):
        assert (round(j / k, 9), colors[width]) in scale
        assert (round((j + 1) / k, 9), colors[width]) in scale
        legend = _trace(fig, f"W{width} · A{problem.abits[j]}")
        assert legend.marker.color == colors[width]
    assert len(scale) == 2 * k
    assert len(set(colors.values())) == k


def test_heatmap_hover_names_type_macs_share_sensitivity_width():
    problem = _sample()
    solution = mc.solve(problem, 0.5)
    fig = charts.plot_bit_heatmap(solution)
    heat = fig.data[0]
    bops = solution.layer_bops()
    i = problem.names.index("conv_in")
    r, c = next(
        (r, c)
        for r, row in enumerate(heat.customdata)
        for c, name in enumerate(row)
        if name == "conv_in"
    )
    text = heat.hovertext[r][c]
    assert "<b>conv_in</b>" in text
    assert f"type: {problem.types[i]}" in text
    assert f"MACs: {problem.macs[i]:,.0f}" in text
    assert f"share of BOPs: {bops[i] / bops.sum():.2%}" in text
    assert f"sensitivity: {problem.sensitivity[i]:.4g}" in text
    assert f"width: W{solution.wbits[i]} A{solution.abits[i]}" in text
    assert heat.hovertemplate == "%{hovertext}<extra></extra>"


def test_heatmap_outlines_pinned_cells_at_their_width():
    pins = {"conv_in": 4, "up_blocks.1.resnets.0.conv1": 16}
    problem = mc.load_problem(*mc.sample_inputs(), pins=pins)
    solution = mc.solve(problem, 0.5)
    fig = charts.plot_bit_heatmap(solution)
    cells = _heatmap_cells(fig)
    rows = list(fig.data[0].y)
    outlined = {
        (round(s.x0 + 0.5), round(s.y0 + 0.5)) for s in fig.layout.shapes if s.name == "pinned"
    }
    assert outlined == {(cells[n][1], rows.index(cells[n][0])) for n in pins}
    for name, width in pins.items():
        assert problem.widths[cells[name][2]] == width
    _trace(fig, "pinned")  # a legend entry explains the outline


def test_heatmap_of_a_small_model_without_unet_names():
    problem = make_problem([10, 20, 30], [0.5, 0.1, 0.9], names=["enc.a.w", "enc.a.v", "head"])
    solution = mc.solve(problem, 0.6)
    cells = _heatmap_cells(charts.plot_bit_heatmap(solution, cell_text=True))
    assert sorted(cells) == ["enc.a.v", "enc.a.w", "head"]
    assert charts.plot_bit_heatmap(solution, cell_text=True).data[0].texttemplate == "%{text}"


def test_heatmap_stack_shows_the_width_legend_once():
    solution = mc.solve(_sample(), 0.5)
    first = charts.plot_bit_heatmap(solution, compact=True)
    rest = charts.plot_bit_heatmap(solution, compact=True, legend=False)
    assert first.layout.showlegend is True and rest.layout.showlegend is False
    assert rest.layout.margin.t < first.layout.margin.t  # no room kept for a legend
    # the rows keep a readable size: at least 20 px per block row in the compact form
    rows = len(rest.data[0].y)
    plot_px = rest.layout.height - rest.layout.margin.t - rest.layout.margin.b
    assert plot_px / rows >= 20
    assert rest.layout.yaxis.tickfont.size >= 12


# --- distribution and gauge ----------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.15, 0.3, 0.5, 1.0])
def test_distribution_counts_and_shares_equal_the_solution(multiplier):
    solution = mc.solve(_sample(), multiplier)
    fig = charts.plot_distribution(solution)
    counts, shares = fig.data
    expected = solution.distribution()
    assert list(counts.x) == [f"{w}-bit" for w, _, _ in expected]
    assert list(counts.y) == [n for _, n, _ in expected]
    assert list(shares.y) == pytest.approx([s * 100 for _, _, s in expected])
    assert sum(counts.y) == solution.problem.n_layers
    assert sum(shares.y) == pytest.approx(100)
    colors = charts.width_colors(solution.problem.widths)
    assert list(counts.marker.color) == [colors[w] for w, _, _ in expected]
    assert (counts.xaxis, shares.xaxis) == ("x", "x2")


@pytest.mark.parametrize("multiplier", [0.13, 0.3, 0.5, 0.77, 1.0])
def test_gauge_value_is_utilization_in_percent(multiplier):
    solution = mc.solve(_sample(), multiplier)
    gauge = charts.plot_utilization_gauge(solution).data[0]
    assert gauge.type == "indicator"
    assert gauge.value == pytest.approx(solution.utilization * 100)
    assert gauge.number.suffix == " %"


def test_gauge_bands_are_80_and_95_percent():
    gauge = charts.plot_utilization_gauge(mc.solve(_sample(), 0.5)).data[0]
    ranges = [tuple(step.range) for step in gauge.gauge.steps]
    assert ranges == [(0, 80), (80, 95), (95, 100)]
    assert charts.UTILIZATION_BANDS == (80.0, 95.0)
    assert [charts.utilization_band(v) for v in (0, 79.9, 80, 95, 95.1, 100)] == [0, 0, 1, 1, 2, 2]


def test_gauge_ticks_are_round_and_the_band_edges_are_colour_only():
    """Regression: tick labels at 80 and 95 crowded each other on the dial."""
    feasible = charts.plot_utilization_gauge(mc.solve(_sample(), 0.5)).data[0]
    assert list(feasible.gauge.axis.tickvals) == [0, 20, 40, 60, 80, 100]
    over = charts.plot_utilization_gauge(mc.solve(_sample(), 0.05)).data[0]
    ticks = list(over.gauge.axis.tickvals)
    assert ticks[0] == 0 and ticks[-1] == over.gauge.axis.range[1]
    assert all(b - a == 50 for a, b in itertools.pairwise(ticks))


def test_gauge_bar_colour_follows_the_band():
    # one layer of 100 MACs, plus4: 4/8/16 bits cost 3,200 / 9,600 / 25,600 BOPs (max)
    problem = make_problem([100], [1.0])
    # 0.50: budget 12,800, cost 9,600 -> 75 %; 0.15: 3,840 and 3,200 -> 83.3 %;
    # 0.40: 10,240 and 9,600 -> 93.75 %; 0.38: 9,728 and 9,600 -> 98.7 %
    for multiplier, percent, band in (
        (0.5, 75, 0),
        (0.15, 83.33, 1),
        (0.4, 93.75, 1),
        (0.38, 98.68, 2),
    ):
        solution = mc.solve(problem, multiplier)
        gauge = charts.plot_utilization_gauge(solution).data[0]
        assert gauge.value == pytest.approx(percent, abs=0.01)
        assert charts.utilization_band(gauge.value) == band
        assert gauge.gauge.bar.color == charts.BAND_BAR_COLORS[band]


def test_gauge_of_an_infeasible_budget_extends_its_axis():
    solution = mc.solve(_sample(), 0.05)
    assert not solution.feasible
    gauge = charts.plot_utilization_gauge(solution).data[0]
    assert gauge.value == pytest.approx(solution.utilization * 100)
    assert gauge.value > 100
    assert gauge.gauge.axis.range[1] >= gauge.value
    ranges = [tuple(step.range) for step in gauge.gauge.steps]
    assert ranges[:3] == [(0, 80), (80, 95), (95, 100)]
    assert ranges[3][0] == 100 and gauge.gauge.steps[3].name == "over budget"
    assert gauge.gauge.bar.color == charts.OVER_BUDGET_COLOR


# --- sweeps --------------------------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.05, 0.37, 0.5, 0.915])
def test_cost_curve_marks_the_current_budget(multiplier):
    sweep = _sweep()
    solution = mc.solve(_sample(), multiplier)
    fig = charts.plot_cost_curve(sweep, solution)
    markers = [t for t in fig.data if t.name == "current budget"]
    assert [list(t.x) for t in markers] == [[multiplier], [multiplier]]
    assert markers[0].y[0] == pytest.approx(solution.cost / mc.GIGA)
    assert markers[1].y[0] == pytest.approx(solution.objective_share * 100)
    lines = [s for s in fig.layout.shapes if s.name == "current budget"]
    assert [(s.x0, s.x1) for s in lines] == [(multiplier, multiplier)]


def test_cost_curve_shades_the_infeasible_region_and_plots_the_sweep():
    problem = _sample()
    sweep = _sweep()
    fig = charts.plot_cost_curve(sweep, mc.solve(problem, 0.5))
    (region,) = [s for s in fig.layout.shapes if s.name == "infeasible"]
    assert (region.x0, region.x1) == (0, pytest.approx(problem.min_multiplier()))

    greedy = sweep[sweep["solver"] == "greedy"].sort_values("multiplier")
    cost = _line(fig, "greedy", "y")
    objective = _line(fig, "greedy", "y2")
    assert list(cost.x) == greedy["multiplier"].tolist()
    for feasible, value, shown, share in zip(
        greedy["feasible"], greedy["cost_gbops"], cost.y, objective.y, strict=True
    ):
        if feasible:
            assert shown == pytest.approx(value)
            assert share is not None
        else:
            assert shown is None and share is None  # nothing drawn below the minimum
    assert list(_trace(fig, "budget").y) == pytest.approx(greedy["budget_gbops"].tolist())
    assert not [t for t in fig.data if t.name and "exact" in t.name]


def test_cost_curve_legend_and_layering():
    """Regression: the budget line hid under the cost line, the legend wrapped onto two lines,
    and the infeasible label was squeezed into the narrow shaded strip."""
    problem = _sample()
    fig = charts.plot_cost_curve(_sweep(), mc.solve(problem, 0.5))
    names = [t.name for t in fig.data]
    # the budget line is drawn after (over) the cost line, in its own colour
    assert names.index("budget") > names.index("greedy")
    budget = _trace(fig, "budget")
    assert budget.line.color == charts.BUDGET_COLOR != charts.SOLVER_COLORS["greedy"]
    # one legend entry per solver: the objective line shares the cost line's entry
    assert [t.showlegend for t in fig.data if t.name == "greedy"] == [None, False]
    # the infeasible region is explained by a legend entry, not by text inside the strip
    entry = _trace(fig, f"infeasible (m < {problem.min_multiplier():.3f})")
    assert list(entry.x) == [None]
    assert not [a for a in fig.layout.annotations if "infeasible" in (a.text or "")]
    # the legend sits inside the plot, so it cannot wrap above it
    assert 0 <= fig.layout.legend.x <= 1 and 0 <= fig.layout.legend.y <= 1


def test_cost_curve_and_tradeoff_include_exact_when_swept():
    sweep = _sweep(("greedy", "exact"))
    solution = mc.solve(_sample(), 0.4, "exact")
    fig = charts.plot_cost_curve(sweep, solution)
    for solver in ("greedy", "exact"):
        rows = sweep[sweep["solver"] == solver].sort_values("multiplier")
        shown = list(_line(fig, solver, "y2").y)
        expected = (rows["objective_share"] * 100).where(rows["feasible"]).tolist()
        for a, b in zip(shown, expected, strict=True):
            assert (a is None) if math.isnan(b) else a == pytest.approx(b)
    names = {t.name for t in charts.plot_tradeoff(sweep, solution).data}
    assert {"Pareto front (greedy)", "Pareto front (exact)"} <= names


def test_tradeoff_front_is_the_pareto_front_and_marks_the_current_solution():
    sweep = _sweep()
    solution = mc.solve(_sample(), 0.5)
    fig = charts.plot_tradeoff(sweep, solution)
    front = mc.pareto_front(sweep, "greedy")
    line = _trace(fig, "Pareto front (greedy)")
    assert list(line.x) == pytest.approx(front["cost_gbops"].tolist())
    assert list(line.y) == pytest.approx((front["objective_share"] * 100).tolist())
    points = _trace(fig, "budgets (greedy)")
    assert len(points.x) == int(sweep["feasible"].sum())
    star = _trace(fig, "current budget")
    assert (star.x[0], star.y[0]) == (
        pytest.approx(solution.cost / mc.GIGA),
        pytest.approx(solution.objective_share * 100),
    )
    infeasible = charts.plot_tradeoff(sweep, mc.solve(_sample(), 0.05))
    assert "current budget" not in {t.name for t in infeasible.data}


def test_tradeoff_draws_the_points_over_thin_fronts():
    """Regression: a thick Pareto line covered the budget points (one blurry line)."""
    fig = charts.plot_tradeoff(_sweep(("greedy", "exact")), mc.solve(_sample(), 0.5))
    names = [t.name for t in fig.data]
    last_line = max(i for i, n in enumerate(names) if n.startswith("Pareto front"))
    first_points = min(i for i, n in enumerate(names) if n.startswith("budgets"))
    assert first_points > last_line
    assert names.index("budgets (greedy)") > names.index("budgets (exact)")  # greedy on top
    for solver in ("greedy", "exact"):
        points = _trace(fig, f"budgets ({solver})")
        line = _trace(fig, f"Pareto front ({solver})")
        assert points.marker.color == "white"  # hollow: the line shows through
        assert points.marker.line.color == line.line.color == charts.SOLVER_COLORS[solver]
        assert line.line.width < points.marker.size / 2


def test_solver_gap_figure_shows_each_solver_below_the_bound_and_the_gap():
    """Regression: the three objective lines lay on top of each other (one visible line); now
    the top plot shows each solver's distance below the LP bound."""
    problem = _sample()
    gap = mc.solver_gap(_sweep(("greedy", "exact")))
    fig = charts.plot_solver_gap(gap, multiplier=0.42, min_multiplier=problem.min_multiplier())
    feasible = gap["feasible"].tolist()
    lp = gap["lp_bound"]
    for name, shown, expected in (
        ("greedy", "y", (lp - gap["greedy_objective"]) / lp * 100),
        ("exact", "y", (lp - gap["exact_objective"]) / lp * 100),
        ("LP bound", "y", lp * 0.0),
        ("greedy gap (% of exact)", "y2", gap["gap_pct"]),
    ):
        trace = _line(fig, name, shown)
        for ok, a, b in zip(feasible, trace.y, expected.tolist(), strict=True):
            assert (a is None) if not ok else a == pytest.approx(max(b, 0.0), abs=1e-12)
    # the objectives themselves are in the hover data
    for name, column in (("greedy", "greedy_objective"), ("exact", "exact_objective")):
        kept = [v for v in _trace(fig, name).customdata if v is not None]
        assert kept == pytest.approx(gap.loc[gap["feasible"], column].tolist())
    assert [(s.x0, s.x1) for s in fig.layout.shapes if s.name == "current budget"] == [(0.42, 0.42)]
    # greedy never closer to the bound than the exact optimum, both at or below the bound
    rows = gap[gap["feasible"]]
    greedy_below = [v for v in _trace(fig, "greedy").y if v is not None]
    exact_below = [v for v in _trace(fig, "exact").y if v is not None]
    assert all(g >= e - 1e-9 >= -1e-9 for g, e in zip(greedy_below, exact_below, strict=True))
    assert len(greedy_below) == len(rows)
    # somewhere they differ by more than rounding: two separate lines, not one
    assert max(g - e for g, e in zip(greedy_below, exact_below, strict=True)) > 1e-3
    # the infeasible region has a legend entry; without one, none
    names = {t.name for t in fig.data}
    assert f"infeasible (m < {problem.min_multiplier():.3f})" in names
    bare = charts.plot_solver_gap(gap, min_multiplier=0.0)
    assert not [t for t in bare.data if t.name.startswith("infeasible")]
    assert not [s for s in bare.layout.shapes if s.name == "infeasible"]


def test_distribution_compare_stacks_each_solution():
    problem = _sample()
    solutions = [mc.solve(problem, m) for m in (0.3, 0.5, 0.7)]
    fig = charts.plot_distribution_compare(solutions)
    assert fig.layout.barmode == "stack"
    counts = [t for t in fig.data if t.xaxis in (None, "x")]
    shares = [t for t in fig.data if t.xaxis == "x2"]
    assert [t.name for t in counts] == [f"{w}-bit" for w in problem.widths]
    for s, solution in enumerate(solutions):
        expected = solution.distribution()
        assert [t.y[s] for t in counts] == [n for _, n, _ in expected]
        assert [t.y[s] for t in shares] == pytest.approx([100 * x for _, _, x in expected])
        assert list(counts[0].x)[s] == f"m = {solution.multiplier:.2f}"
    with pytest.raises(ValueError):
        charts.plot_distribution_compare([])


def test_width_colors_go_from_warm_to_cool_and_handle_any_ladder():
    assert charts.width_colors([4, 8, 16]) == {
        4: "rgb(209, 73, 91)",
        8: "rgb(237, 174, 73)",
        16: "rgb(0, 121, 140)",
    }
    assert list(charts.width_colors([16])) == [16]
    five = charts.width_colors([2, 3, 4, 8, 16])
    assert len(set(five.values())) == 5


def test_figures_serialise_to_json():
    problem = _sample()
    solution = mc.solve(problem, 0.5)
    sweep = _sweep()
    for fig in (
        charts.plot_bit_heatmap(solution),
        charts.plot_distribution(solution),
        charts.plot_utilization_gauge(solution),
        charts.plot_cost_curve(sweep, solution),
        charts.plot_tradeoff(sweep, solution),
    ):
        text = fig.to_json()
        assert "NaN" not in text and math.isfinite(fig.layout.height)
