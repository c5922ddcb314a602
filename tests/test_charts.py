"""The figure builders at one budget: the data inside each figure, checked against mpq_core's own
results; fixed width colours; context subtitles, print sizes and export names; infeasible views.

The sweep charts (budget curve, slack, solver gap, comparison) are in test_charts_sweeps.py.
"""

from __future__ import annotations

import math
import re

import pytest
from factory import expected_shares, make_problem, sample, sample_sweep

import mpq_core as mc
from mpq_core import charts
from mpq_core.report.display import gbops, percent


def _heatmap_cells(fig):
    """{layer name: (row label, x position, option index)} read back from the heatmap trace."""
    (heat,) = [t for t in fig.data if t.type == "heatmap"]  # one trace draws every cell
    cells = {}
    for r, (names, zs) in enumerate(zip(heat.customdata, heat.z, strict=True)):
        for c, (name, z) in enumerate(zip(names, zs, strict=True)):
            if name is None:
                assert z is None  # padding is empty
                continue
            assert name not in cells, f"{name} drawn twice"
            cells[name] = (heat.y[r], heat.x[c], z)
    return cells


def _trace(fig, name: str, index: int = 0):
    found = [t for t in fig.data if t.name == name]
    assert found, f"no trace {name!r} in {[t.name for t in fig.data]}"
    return found[index]


def _one_figure_per_builder(solution, sweep):
    return {
        "heatmap": charts.plot_bit_heatmap(solution),
        "distribution": charts.plot_distribution(solution),
        "budget_use": charts.plot_budget_use(solution),
        "budget_curve": charts.plot_budget_curve(sweep, solution),
        "slack": charts.plot_slack(sweep, solution),
    }


# --- heatmap --------------------------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.2, 0.5, 0.8])
def test_heatmap_has_every_layer_once_with_its_width(multiplier):
    problem = sample()
    solution = mc.solve(problem, multiplier)
    cells = _heatmap_cells(charts.plot_bit_heatmap(solution))

    assert sorted(cells) == sorted(problem.names)
    for i, name in enumerate(problem.names):
        assert problem.widths[cells[name][2]] == solution.wbits[i]


def test_heatmap_is_one_trace_without_shapes():
    """Regression: one rectangle shape per pinned cell made the builder complex and slow."""
    pins = {"conv_in": 4, "up_blocks.1.resnets.0.conv1": 16}
    problem = mc.load_problem(*mc.sample_inputs(), pins=pins)
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.5))
    assert [t.type for t in fig.data].count("heatmap") == 1
    assert not fig.layout.shapes


def test_heatmap_rows_are_blocks_in_network_order_layers_in_file_order():
    problem = sample()
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.5))
    cells = _heatmap_cells(fig)
    blocks = mc.group_blocks(problem.names)

    assert list(fig.data[0].y) == [f"{b.name} ({len(b.layers)})" for b in blocks]
    assert [label.split(" ")[0] for label in fig.data[0].y][:3] == [
        "conv_in",
        "time_embedding",
        "down_blocks.0",
    ]
    for block in blocks:
        positions = [cells[problem.names[i]][1] for i in block.layers]
        assert positions == list(range(1, len(block.layers) + 1))
    assert tuple(fig.layout.yaxis.categoryarray) == tuple(fig.data[0].y)
    assert tuple(fig.layout.yaxis.range) == (len(blocks) - 0.5, -0.5)  # conv_in on top


def test_heatmap_discrete_colours_are_the_widths_fixed_colours():
    problem = sample()
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.5))
    heat = fig.data[0]
    k = len(problem.widths)
    assert (heat.zmin, heat.zmax) == (-0.5, k - 0.5)
    assert heat.showscale is False
    # option j's band [j/k, (j+1)/k] has the width's fixed colour at both ends
    scale = [(round(p, 9), c) for p, c in heat.colorscale]
    assert len(scale) == 2 * k
    for j, width in enumerate(problem.widths):
        assert (round(j / k, 9), charts.width_color(width)) in scale
        assert (round((j + 1) / k, 9), charts.width_color(width)) in scale
        swatch = _trace(fig, f"W{width} · A{problem.abits[j]}")
        assert swatch.marker.color == charts.width_color(width)


def test_heatmap_hover_names_type_macs_share_sensitivity_width():
    problem = sample()
    solution = mc.solve(problem, 0.5)
    heat = charts.plot_bit_heatmap(solution).data[0]
    bops = solution.layer_bops()
    for name in ("conv_in", "down_blocks.0.resnets.0.conv1"):
        i = problem.names.index(name)
        r, c = next(
            (r, c)
            for r, row in enumerate(heat.customdata)
            for c, cell in enumerate(row)
            if cell == name
        )
        lines = heat.hovertext[r][c].split("<br>")
        assert lines == [
            f"<b>{name}</b>",
            f"type: {problem.types[i]}",
            f"MACs: {problem.macs[i]:,.0f}",
            f"share of BOPs: {percent(bops[i] / bops.sum(), 2)}",
            f"sensitivity: {problem.sensitivity[i]:.4g}",
            f"width: W{solution.wbits[i]} A{solution.abits[i]}",
        ]
    assert heat.hovertemplate == "%{hovertext}<extra></extra>"


def test_heatmap_tiny_bops_share_reads_below_one_hundredth_of_a_percent():
    """Regression: a layer with a tiny share of the BOPs read "0.00%"."""
    problem = make_problem([1, 1_000_000], [0.5, 0.5], names=["tiny", "big"])
    solution = mc.solve(problem, 1.0)
    heat = charts.plot_bit_heatmap(solution).data[0]
    hover = {name: text for row, texts in zip(heat.customdata, heat.hovertext, strict=True)
             for name, text in zip(row, texts, strict=True) if name}  # fmt: skip
    assert "share of BOPs: <0.01%" in hover["tiny"]
    assert "share of BOPs: 100.00%" in hover["big"]
    dist = charts.plot_distribution(solution)
    assert list(dist.data[1].text)[-1] == percent(solution.width_shares()[-1].bops_share, 2)


def test_heatmap_marks_pinned_layers_with_one_trace():
    pins = {"conv_in": 4, "up_blocks.1.resnets.0.conv1": 16}
    problem = mc.load_problem(*mc.sample_inputs(), pins=pins)
    solution = mc.solve(problem, 0.5)
    fig = charts.plot_bit_heatmap(solution)
    cells = _heatmap_cells(fig)
    marks = _trace(fig, "pinned")
    assert sorted(zip(marks.x, marks.y, strict=True)) == sorted(
        (cells[n][1], cells[n][0]) for n in pins
    )
    for name, width in pins.items():
        assert problem.widths[cells[name][2]] == width
    i = problem.names.index("conv_in")
    r, c = next((r, c) for r, row in enumerate(fig.data[0].customdata)
                for c, cell in enumerate(row) if cell == "conv_in")  # fmt: skip
    assert fig.data[0].hovertext[r][c].endswith("pinned to 4 bits")
    assert solution.wbits[i] == 4


def test_heatmap_outlines_each_group_that_does_not_hold_every_layer():
    from fnmatch import fnmatch

    from mpq_core.model.constraints import parse_constraints

    raw = {
        "groups": {"content": ["*.attn2.*", "*.ff.*"], "convs": ["*conv*"], "rest": ["*"]},
        "limits": [{"resource": "bops", "at_most": "0.4x"}],
    }
    spec = mc.Spec(constraints=parse_constraints(raw, "test"))
    problem = mc.build_problem(mc.load_inputs(*mc.sample_inputs()), spec)
    fig = charts.plot_bit_heatmap(mc.solve_spec(problem, spec))
    cells = _heatmap_cells(fig)
    content = [n for n in problem.names if fnmatch(n, "*.attn2.*") or fnmatch(n, "*.ff.*")]
    convs = [n for n in problem.names if fnmatch(n, "*conv*") and n not in content]
    rest = [n for n in problem.names if n not in content and n not in convs]
    assert content and convs and rest
    for name, members in (("content", content), ("convs", convs), ("rest", rest)):
        marks = _trace(fig, f"group {name}")
        assert sorted(zip(marks.x, marks.y, strict=True)) == sorted(
            (cells[n][1], cells[n][0]) for n in members
        )
    inks = {_trace(fig, f"group {n}").marker.color for n in ("content", "convs", "rest")}
    assert len(inks) == 3  # one ink per group
    # a single group holding every layer outlines nothing
    spec = mc.Spec(constraints=parse_constraints({"groups": {"all": ["*"]}}, "test"))
    problem = mc.build_problem(mc.load_inputs(*mc.sample_inputs()), spec)
    fig = charts.plot_bit_heatmap(mc.solve_spec(problem, spec))
    assert not [t for t in fig.data if (t.name or "").startswith("group ")]


def test_heatmap_of_a_small_model_has_a_tick_per_layer():
    """Regression: ticks every 5 positions left a 3-layer model with no x tick at all."""
    problem = make_problem([10, 20, 30], [0.5, 0.1, 0.9], names=["enc.a.w", "enc.a.v", "head"])
    solution = mc.solve(problem, 0.6)
    fig = charts.plot_bit_heatmap(solution, cell_text=True)
    assert sorted(_heatmap_cells(fig)) == ["enc.a.v", "enc.a.w", "head"]
    xaxis = fig.layout.xaxis
    assert (xaxis.tickmode, xaxis.tick0, xaxis.dtick) == ("linear", 1, 1)
    assert tuple(xaxis.range) == (0.5, 2.5)  # the widest block has two layers
    assert fig.data[0].texttemplate == "%{text}"
    wide = charts.plot_bit_heatmap(mc.solve(sample(), 0.5)).layout.xaxis
    assert (wide.tick0, wide.dtick) == (5, 5)


def test_heatmap_shows_layer_names_from_files_as_plain_text():
    names = ["<b>x</b>.conv", "<a href='http://e.x'>y</a>.fc"]
    problem = make_problem([10, 20], [0.5, 0.4], names=names)
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.8))
    text = " ".join(fig.data[0].y) + " ".join(h for row in fig.data[0].hovertext for h in row)
    assert "<a href" not in text and "<b>x</b>" not in text
    assert "&lt;a href='http://e.x'&gt;y&lt;/a&gt;" in text
    assert "&lt;b&gt;x&lt;/b&gt;.conv" in text
    assert sorted(_heatmap_cells(fig)) == sorted(names)  # the names themselves stay intact


def test_heatmap_of_an_infeasible_budget_draws_no_allocation():
    """Regression: at m = 0.05 the all-lowest fallback was drawn as a normal allocation."""
    solution = mc.solve(sample(), 0.05)
    assert not solution.feasible
    fig = charts.plot_bit_heatmap(solution)
    heat = fig.data[0]
    assert all(z is None for row in heat.z for z in row)
    assert all(h == "" for row in heat.hovertext for h in row)
    assert len(heat.y) == len(mc.group_blocks(solution.problem.names))  # the frame stays
    assert not [t for t in fig.data if t.name and t.name.startswith("W")]  # no width legend
    (notice,) = [a for a in fig.layout.annotations if a.name == "infeasible"]
    assert "Infeasible budget (m = 0.05)" in notice.text
    assert f"{solution.problem.min_multiplier():.3f}" in notice.text
    assert fig.layout.title.subtitle.text.endswith("· infeasible")


def test_every_compare_heatmap_has_its_legend():
    """Regression: only the first of a stack of heatmaps had a legend; exported alone, the
    others had none."""
    for m in (0.3, 0.5, 0.7):
        fig = charts.plot_bit_heatmap(mc.solve(sample(), m), compact=True)
        assert fig.layout.showlegend is True
        assert {t.name for t in fig.data} >= {"W4 · A8", "W8 · A12", "W16 · A16"}
        rows = len(fig.data[0].y)
        plot_px = fig.layout.height - fig.layout.margin.t - fig.layout.margin.b
        assert plot_px / rows >= 20  # rows keep a readable size


# --- distribution ----------------------------------------------------------------------------


@pytest.mark.parametrize("multiplier", [0.15, 0.3, 0.5, 1.0])
def test_distribution_counts_and_shares_equal_the_solution(multiplier):
    solution = mc.solve(sample(), multiplier)
    fig = charts.plot_distribution(solution)
    counts, shares = fig.data
    expected = expected_shares(solution)
    assert list(counts.x) == [f"{w}-bit" for w, _, _ in expected]
    assert list(counts.y) == [n for _, n, _ in expected]
    assert list(shares.y) == pytest.approx([s * 100 for _, _, s in expected])
    assert list(shares.text) == [percent(s, 2) for _, _, s in expected]
    assert sum(counts.y) == solution.problem.n_layers
    assert sum(shares.y) == pytest.approx(100)
    assert list(counts.marker.color) == [charts.width_color(w) for w, _, _ in expected]
    assert (counts.xaxis, shares.xaxis) == ("x", "x2")
    assert fig.layout.yaxis2.ticksuffix == "%"


def test_distribution_of_an_infeasible_budget_is_empty_with_a_notice():
    fig = charts.plot_distribution(mc.solve(sample(), 0.05))
    for bars in fig.data:
        assert all(v is None for v in bars.y)
    assert [a.name for a in fig.layout.annotations].count("infeasible") == 1


# --- budget use (replaces the gauge) -------------------------------------------------------


def _segments(fig) -> dict[str, tuple[float, float]]:
    """{bar name: (start, length)} in GBOPs."""
    return {t.name: (t.base[0], t.x[0]) for t in fig.data if t.type == "bar"}


@pytest.mark.parametrize("multiplier", [0.13, 0.3, 0.5, 0.77, 1.0])
def test_budget_use_splits_the_budget_into_floor_upgrades_and_unused(multiplier):
    problem = sample()
    solution = mc.solve(problem, multiplier)
    fig = charts.plot_budget_use(solution)
    g = mc.GIGA
    assert _segments(fig) == {
        "floor": (0, pytest.approx(problem.min_cost / g)),
        "upgrades": (pytest.approx(problem.min_cost / g), pytest.approx(
            (solution.cost - problem.min_cost) / g)),
        "unused": (pytest.approx(solution.cost / g), pytest.approx(
            (solution.budget - solution.cost) / g)),
    }  # fmt: skip
    assert list(_trace(fig, "budget").x) == pytest.approx([solution.budget / g] * 2)
    assert fig.layout.xaxis.range[1] >= problem.max_cost / g  # the axis covers every budget
    (summary,) = [a for a in fig.layout.annotations if a.name == "summary"]
    unused = solution.budget - solution.cost
    assert summary.text.split("<br>") == [
        f"<b>{gbops(unused)} unused</b> ({percent(unused / solution.budget, 2)} of the budget)",
        f"cost {gbops(solution.cost)} of {gbops(solution.budget)}",
        f"floor {gbops(problem.min_cost)} ({percent(problem.min_cost / solution.budget)}): "
        "all layers lowest",
    ]
    assert fig.layout.showlegend is False  # labelled on the plot: nothing to wrap
    labels = {a.name: a for a in fig.layout.annotations}
    assert labels[f"budget (m = {charts.multiplier_text(multiplier)})"].x == pytest.approx(
        solution.budget / g
    )
    assert labels["all-16-bit cost"].x == pytest.approx(problem.max_cost / g)


def test_budget_use_of_an_infeasible_budget_shows_the_floor_over_it():
    """Regression: the gauge rescaled to 250% and read like a result."""
    problem = sample()
    solution = mc.solve(problem, 0.05)
    fig = charts.plot_budget_use(solution)
    g = mc.GIGA
    assert _segments(fig) == {
        "floor within the budget": (0, pytest.approx(solution.budget / g)),
        "floor over the budget": (
            pytest.approx(solution.budget / g),
            pytest.approx((problem.min_cost - solution.budget) / g),
        ),
    }
    (summary,) = [a for a in fig.layout.annotations if a.name == "summary"]
    assert summary.text.split("<br>") == [
        f"<b>Infeasible: {gbops(problem.min_cost - solution.budget)} short</b>",
        f"floor {gbops(problem.min_cost)}: all layers lowest",
        f"budget {gbops(solution.budget)}",
    ]
    assert not [t for t in fig.data if t.type == "indicator"]


# --- colours --------------------------------------------------------------------------------


def test_each_width_keeps_its_colour_whatever_the_ladder():
    """Regression: 4-bit was red with 4/8/16 and orange once 2 was added."""
    a = make_problem([10, 20, 30], [0.5, 0.1, 0.9], bits=[4, 8, 16])
    b = make_problem([10, 20, 30], [0.5, 0.1, 0.9], bits=[2, 4, 8, 16])
    c = make_problem([10, 20, 30], [0.5, 0.1, 0.9], bits=[3, 4, 6, 8])
    swatches = {}
    for problem in (a, b, c):
        fig = charts.plot_bit_heatmap(mc.solve(problem, 0.6))
        for t in fig.data:
            if t.name and t.name.startswith("W"):
                width = int(t.name[1:].split(" ")[0])
                swatches.setdefault(width, set()).add(t.marker.color)
        bars = charts.plot_distribution(mc.solve(problem, 0.6)).data[0]
        for label, color in zip(bars.x, bars.marker.color, strict=True):
            swatches.setdefault(int(label.split("-")[0]), set()).add(color)
    assert {w: len(c) for w, c in swatches.items()} == {2: 1, 3: 1, 4: 1, 6: 1, 8: 1, 16: 1}
    assert charts.width_colors([4, 8, 16])[4] == charts.width_colors([2, 4, 8, 16])[4]


def test_width_colours_cover_1_to_64_deterministically():
    table = charts.WIDTH_COLORS
    assert {4: "#FD7636", 8: "#00886C", 16: "#004E8C"}.items() <= table.items()
    colours = {w: charts.width_color(w) for w in range(1, 65)}
    assert all(re.fullmatch(r"#[0-9A-F]{6}", c) for c in colours.values())
    assert {w: colours[w] for w in table} == table
    assert colours == {w: charts.width_color(w) for w in range(1, 65)}  # same every time
    # the rule: between the two nearest table widths, at the log2 position (5 between 4 and 8)
    t = (math.log2(5) - 2) / (math.log2(8) - 2)
    low, high = table[4], table[8]

    def linear(c: float) -> float:  # sRGB to linear light, where the colours are mixed
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    mixed = [
        linear(int(low[i : i + 2], 16) / 255) * (1 - t) + linear(int(high[i : i + 2], 16) / 255) * t
        for i in (1, 3, 5)
    ]
    srgb = [12.92 * c if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055 for c in mixed]
    assert colours[5] == "#" + "".join(f"{round(c * 255):02X}" for c in srgb)
    assert charts.width_color(128) == table[64]
    # the usual ladders get distinct colours
    for ladder in ([4, 8, 16], [2, 4, 8, 16], [3, 4, 6, 8], [1, 2, 4, 8], [8, 12, 16, 32]):
        assert len(set(charts.width_colors(ladder).values())) == len(ladder)
    for bad in (0, -4, 2.5, True):
        with pytest.raises(ValueError):
            charts.width_color(bad)


# --- context, size, names --------------------------------------------------------------------


def test_every_figure_carries_the_context_subtitle_and_its_export_name():
    solution = mc.solve(sample(), 0.25)
    expected = "stable-diffusion-v1-4 UNet2DConditionModel · m = 0.25 · greedy · W4/8/16"
    assert charts.context_line(solution) == expected
    for key, fig in _one_figure_per_builder(solution, sample_sweep()).items():
        # wrapped at its " · " to the figure's width (a half-page one takes two lines)
        assert " · ".join(fig.layout.title.subtitle.text.split("<br>")) == expected, key
        assert fig.layout.meta["file"] == f"{key}_m0.25"
        assert fig.layout.width and fig.layout.height  # the print size


def test_context_names_settings_and_falls_back_to_the_file_name():
    problem = make_problem(
        [10, 20], [0.5, 0.4], bits=[2, 4, 8], abit_rule="match", pins={"layer0": 8}
    )
    assert problem.inputs.layers.model == ""
    solution = mc.solve(problem, 0.537, "exact")  # 20 MACs at 4 bits + 10 pinned at 8: 0.375
    assert solution.feasible
    assert charts.context_line(solution) == "f · m = 0.537 · exact · W2/4/8 · A match · 1 pinned"
    assert charts.multiplier_text(0.5) == "0.50" and charts.multiplier_text(1.0) == "1.00"
    assert charts.file_stem("heatmap", [0.337]) == "heatmap_m0.337"
    assert charts.file_stem("distribution", [0.3, 0.5]) == "distribution_m0.30-0.50"


def test_model_names_from_files_are_plain_text_in_the_subtitle():
    from mpq_core.io.loading import align_inputs, parse_layers, parse_sensitivity

    raw = {"model": "<a href='http://e.x'>Evil</a> & co", "layers": {"a": {"macs": 10}}}
    layers = parse_layers(raw, "evil.json")
    table = parse_sensitivity({"sensitivity": {"a": 0.5}}, "s.json")
    problem = mc.build_problem(align_inputs(layers, table))
    subtitle = charts.context_line(mc.solve(problem, 0.5))
    assert subtitle.startswith("&lt;a href='http://e.x'&gt;Evil&lt;/a&gt; &amp; co · m = 0.50")
    assert "<a" not in subtitle


def test_legends_sit_between_the_title_and_the_plot():
    """Regression: legends wrapped over titles and were cut off in exported images."""
    solution = mc.solve(sample(), 0.5)
    for key, fig in _one_figure_per_builder(solution, sample_sweep()).items():
        layout = fig.layout
        if not layout.showlegend:
            continue
        legend, title = layout.legend, layout.title
        assert (legend.xref, legend.yref, legend.orientation) == ("container", "container", "h")
        assert (title.xref, title.yref) == ("container", "container")
        title_px = (1 - title.y) * layout.height
        legend_px = (1 - legend.y) * layout.height
        assert title_px + 40 <= legend_px <= layout.margin.t - 24, key  # one legend row fits


def test_a_long_legend_gets_a_second_row_before_the_plot():
    problem = make_problem(
        [10, 20, 30, 40], [0.5, 0.1, 0.9, 0.3], bits=[2, 3, 4, 8, 16], pins={"layer0": 16}
    )
    fig = charts.plot_bit_heatmap(mc.solve(problem, 0.6))
    short = charts.plot_bit_heatmap(mc.solve(make_problem([10, 20], [0.5, 0.1]), 0.6))
    entries = [t.name for t in fig.data[1:]]
    assert entries == ["W2 · A6", "W3 · A7", "W4 · A8", "W8 · A12", "W16 · A16", "pinned"]
    legend_px = round((1 - fig.layout.legend.y) * fig.layout.height)
    assert fig.layout.margin.t - legend_px >= 2 * 32  # two rows reserved
    short_px = round((1 - short.layout.legend.y) * short.layout.height)
    assert short.layout.margin.t - short_px == 32  # one row: W4 · A8, W8 · A12, W16 · A16
    # the extra row does not squeeze the cells: below the header, the same room per block row
    below = fig.layout.height - fig.layout.margin.t - 30 * len(fig.data[0].y)
    assert below == short.layout.height - short.layout.margin.t - 30 * len(short.data[0].y)


def test_figures_serialise_to_json_without_nan():
    for m in (0.05, 0.5):
        solution = mc.solve(sample(), m)
        for fig in _one_figure_per_builder(solution, sample_sweep()).values():
            text = fig.to_json()
            assert "NaN" not in text and math.isfinite(fig.layout.height)


def test_a_transformer_s_heatmap_names_its_modules():
    """MiniLM's six encoder layers repeat one list of modules: the columns are named by each
    module's shortest distinct ending, a dotted part a line; the UNet's blocks differ, so its
    columns stay positions (and so do ResNet's, whose first blocks add a downsample)."""
    from mpq_core.charts.allocation import bit_heatmap_spec

    def xaxis(key):
        problem = mc.load_problem(*mc.sample_inputs(key))
        return bit_heatmap_spec(mc.solve(problem, 0.5))["layout"]["xaxis"]

    minilm = xaxis("minilm")
    assert minilm["ticktext"] == ["query", "key", "value", "matmul", "attention<br>output<br>dense",
                                  "intermediate<br>dense", "output<br>dense"]  # fmt: skip
    assert minilm["tickvals"] == [1, 2, 3, 4, 5, 6, 7]
    assert minilm["title"]["text"] == "module in the block"
    for key in ("sd14", "hawq_resnet18"):
        axis = xaxis(key)
        assert "ticktext" not in axis and axis["title"]["text"].startswith("layer position"), key


def test_blocks_of_many_modules_keep_positions():
    """256 experts x 3 projections a block repeat one list too, but 768 names under the axis
    would not read: past 24 columns they are positions."""
    from mpq_core.charts.allocation import _column_modules
    from mpq_core.model.blocks import group_blocks

    def named(experts):
        names = tuple(f"model.layers.{i}.mlp.experts.{j}.{p}" for i in range(4)
                      for j in range(experts) for p in ("w1", "w2", "w3"))  # fmt: skip
        return _column_modules(names, group_blocks(names))

    assert named(8) == [f"{j}.{p}" for j in range(8) for p in ("w1", "w2", "w3")]
    assert named(9) is None
