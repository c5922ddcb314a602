"""The Budget explorer through AppTest: the slider, the exact box, the solver and the pins
move what it shows; an infeasible budget says so everywhere."""

from __future__ import annotations

import json

import pytest
from app_runs import load_sample, no_failure, open_sections, run_app
from app_views import (
    app_charts,
    app_metrics,
    card_notes,
    card_rows,
    expected_unused,
    heatmap_widths,
    shown,
    unused_gbops,
)

import mpq_core as mc
from mpq_app.ui import sections
from mpq_core.report.display import gap_percent

# a layer the greedy leaves at 4 bits at 0.50 on the sample (checked in the pin test)
LOW_LAYER = "up_blocks.2.resnets.0.conv1"


def test_default_view_is_the_sample_at_one_half():
    at = run_app()
    solution = mc.solve(load_sample(), 0.5)
    metrics = app_metrics(at)
    assert at.slider(key="budget").value == 0.5
    assert at.text_input(key="budget_text").value == "0.50"
    assert metrics["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs" == "51,359.9 GBOPs"
    assert metrics["Budget"] == f"{solution.budget / mc.GIGA:,.1f} GBOPs"
    assert metrics["Utilization"] == f"{solution.utilization:.1%}"
    assert metrics["Objective"] == f"{solution.objective_share:.1%}"
    assert metrics["Upgrades"] == str(solution.num_upgrades)
    # one mean weight width on the page: the params-weighted one (issue 19, item 12)
    assert "Bits per layer" not in metrics
    notes = card_notes(at)
    # the params-weighted mean (W4.08) and the weight memory, recomputed from the raw file
    raw = json.loads(mc.SAMPLES["sd14"].flops_path.read_text())["layers"]
    widths = dict(zip(solution.problem.names, solution.wbits.tolist(), strict=True))
    params = {n: raw[n]["params"] for n in widths}
    mean = sum(params[n] * w for n, w in widths.items()) / sum(params.values())
    assert metrics["Mean weight bits"] == f"{mean:.2f} bits"
    memory = sum(params[n] * w for n, w in widths.items()) / 8
    assert metrics["Weight memory"] == f"{memory / 2**30:,.2f} GiB" == "1.08 GiB"
    full = sum(params.values()) * 16
    assert notes["Weight memory"] == (f"{memory * 8 / full:.1%}", "of all-16-bit")
    assert notes["Budget"] == ("m = 0.50", "× all-16-bit cost")
    assert notes["Utilization"] == (
        f"{(solution.budget - solution.cost) / mc.GIGA:,.1f} GBOPs",
        "left unused",
    )
    # every layer one or two steps up a 4/8/16 ladder: 2 steps each
    assert notes["Upgrades"] == (f"of {2 * solution.problem.n_layers:,}", "possible")
    assert "Greedy gap" not in metrics
    assert card_rows(at) == [3, 2]  # five cards in two rows (the weight cards below)
    assert unused_gbops(at) == pytest.approx(expected_unused(solution))


def test_moving_the_slider_changes_budget_use_and_heatmap():
    problem = load_sample()
    at = run_app()
    before = unused_gbops(at), heatmap_widths(at, problem)
    at.slider(key="budget").set_value(0.3).run()
    no_failure(at)
    solution = mc.solve(problem, 0.3)
    after = unused_gbops(at), heatmap_widths(at, problem)

    assert after[0] == pytest.approx(expected_unused(solution))
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert after[1] == dict(zip(problem.names, solution.wbits.tolist(), strict=True))
    assert at.text_input(key="budget_text").value == "0.30"
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    for key in ("budget_curve", "slack"):
        markers = [t for t in app_charts(at)[key]["data"] if t.get("name") == "current budget"]
        assert markers and all(t["x"] == [0.3] for t in markers)


def test_exact_entry_moves_the_slider_and_sets_the_budget():
    problem = load_sample()
    at = run_app()
    at.text_input(key="budget_text").input("0.537").run()
    no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(0.54)
    solution = mc.solve(problem, 0.537)
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.537) / mc.GIGA:,.1f} GBOPs"
    assert unused_gbops(at) == pytest.approx(expected_unused(solution))


def test_switching_to_the_exact_solver_shows_the_greedy_gap():
    problem = load_sample()
    at = run_app()
    at.slider(key="budget").set_value(0.3).run()
    at.radio(key="solver").set_value("exact").run()
    no_failure(at)
    row = mc.solver_gap(mc.sweep_budgets(problem, [0.3], solvers=("greedy", "exact"))).iloc[0]
    metrics = app_metrics(at)
    assert metrics["Greedy gap"] == gap_percent(row["gap_pct"]) == f"{row['gap_pct']:.3g}%"
    exact = mc.solve(problem, 0.3, "exact")
    assert metrics["Final cost"] == f"{exact.cost / mc.GIGA:,.1f} GBOPs"
    charts = app_charts(at)
    curves = {t.get("name") for t in charts["budget_curve"]["data"] if t.get("mode") == "lines"}
    assert curves == {"exact"}  # the view's solver; the slack chart shows both
    slack = {t.get("name") for t in charts["slack"]["data"] if t.get("mode") == "lines+markers"}
    assert slack == {"greedy", "exact"}
    assert card_rows(at) == [3, 3]


def test_pinning_a_layer_shows_it_at_its_pinned_width():
    problem = load_sample()
    assert mc.solve(problem, 0.5).wbits[problem.names.index(LOW_LAYER)] == 4
    at = open_sections(run_app(), sections.PINS)
    at.multiselect(key="pin_16").set_value([LOW_LAYER]).run()
    no_failure(at)
    pinned = load_sample(pins=((LOW_LAYER, 16),))
    expected = mc.solve(pinned, 0.5)
    drawn = heatmap_widths(at, pinned)
    assert drawn[LOW_LAYER] == 16
    assert drawn == dict(zip(pinned.names, expected.wbits.tolist(), strict=True))
    assert app_metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"
    (marks,) = [t for t in app_charts(at)["heatmap"]["data"] if t.get("name") == "pinned"]
    assert len(marks["x"]) == 1
    assert at.query_params["pin16"] == LOW_LAYER


def test_per_bit_sample_and_a_ladder_it_cannot_fill():
    at = run_app()
    at.radio(key="source").set_value("sd14_per_bit").run()
    no_failure(at)
    assert at.slider(key="discount").disabled
    problem = mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
    assert app_metrics(at)["Final cost"] == (f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs")
    at.pills(key="ladder").set_value([2, 4, 8, 16]).run()
    assert not at.exception
    assert any("per-bit table has no width 2" in shown(e.value) for e in at.error)
    assert app_metrics(at)["Final cost"] == f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs"


def test_an_infeasible_budget_says_so_on_every_chart():
    """Regression: at m = 0.05 the all-lowest fallback was drawn as an allocation and the gauge
    read 250%."""
    at = run_app()
    at.slider(key="budget").set_value(0.05).run()
    assert not at.exception
    charts = app_charts(at)
    heat = charts["heatmap"]
    assert all(z is None for row in heat["data"][0]["z"] for z in row)
    for key in ("heatmap", "distribution"):
        names = [a.get("name") for a in charts[key]["layout"]["annotations"]]
        assert "infeasible" in names, key
    assert all(v is None for t in charts["distribution"]["data"] for v in t["y"])
    segments = {t["name"] for t in charts["budget_use"]["data"] if t["type"] == "bar"}
    assert segments == {"floor within the budget", "floor over the budget"}
    for key in ("budget_curve", "slack"):
        markers = [t for t in charts[key]["data"] if t.get("name") == "current budget"]
        assert markers and all(t["x"] == [0.05] and t["y"] == [None] for t in markers), key
        labels = [a["text"] for a in charts[key]["layout"]["annotations"]
                  if a.get("name") == "current budget"]  # fmt: skip
        assert labels == ["m = 0.05 · infeasible"], key
    for key, chart in charts.items():
        assert chart["layout"]["title"]["subtitle"]["text"].endswith("· infeasible"), key


def test_pin_boxes_have_no_select_all_row_that_enter_would_pick():
    """Regression: "conv_out" + Enter pinned 15 layers (Enter picked "Select N matches")."""
    at = open_sections(run_app(), sections.PINS)
    for width in (4, 8, 16):
        box = at.multiselect(key=f"pin_{width}")
        assert box.proto.select_all == 0  # never shown


def test_infeasible_budget_shows_its_message_and_disables_downloads():
    problem = load_sample()
    at = run_app()
    at.slider(key="budget").set_value(0.05).run()
    assert not at.exception
    solution = mc.solve(problem, 0.05)
    (error,) = at.error
    assert "smallest feasible multiplier" in error.value
    assert solution.message in shown(error.value)
    buttons = {b.key: b for b in at.get("download_button")}
    for key in ("download_config", "download_csv", "download_report"):
        assert buttons[key].proto.disabled, key
    if "download_images" in buttons:  # absent without Chromium
        assert buttons["download_images"].proto.disabled
    # one click moves to the smallest feasible budget on the slider's grid
    at.button(key="use_min_multiplier").click().run()
    no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(solution.min_grid_multiplier)
    assert not at.get("download_button")[0].proto.disabled


@pytest.mark.parametrize("multiplier", [0.0, 0.05])
def test_an_infeasible_budget_shows_no_contradictory_card(multiplier):
    """Regression: "Utilization 0.0%" (250% at 0.05) next to "over budget"."""
    problem = load_sample()
    at = run_app()
    at.slider(key="budget").set_value(multiplier).run()
    assert not at.exception
    solution = mc.solve(problem, multiplier)
    metrics, notes = app_metrics(at), card_notes(at)
    assert list(metrics) == ["Budget", "Allocation", "Needed", "Shortfall"]
    assert metrics["Allocation"] == "Infeasible"
    assert metrics["Needed"] == f"{problem.min_cost / mc.GIGA:,.1f} GBOPs"
    assert notes["Needed"] == (f"m ≥ {solution.threshold.text}", "smallest feasible")
    assert metrics["Shortfall"] == f"{solution.shortfall / mc.GIGA:,.1f} GBOPs"
    assert not any("%" in value for value in metrics.values())


def test_the_greedy_gap_card_is_left_out_at_an_infeasible_budget():
    at = run_app({"solver": "exact", "budget": "0.05"})
    assert not at.exception
    assert "Greedy gap" not in app_metrics(at)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("", "the exact multiplier is empty"),
        ("abc", "'abc' is not a number"),
        ("2", "2 is outside 0 to 1"),
        ("-0.1", "-0.1 is outside 0 to 1"),
        ("nan", "nan is outside 0 to 1"),
    ],
)
def test_the_exact_box_keeps_the_last_budget_when_the_input_is_no_multiplier(typed, why):
    """Regression: clearing the box (or typing letters) and pressing Enter set the budget to 0;
    out-of-range values were only refused in a hover."""
    problem = load_sample()
    at = run_app()
    at.text_input(key="budget_text").input("0.42").run()
    at.text_input(key="budget_text").input(typed).run()
    assert not at.exception
    assert at.text_input(key="budget_text").value == "0.42"
    assert at.slider(key="budget").value == pytest.approx(0.42)
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.42) / mc.GIGA:,.1f} GBOPs"
    (warning,) = [w for w in at.warning if "Not used" in w.value]
    assert shown(warning.value) == f"Not used: {why}. The budget stays at 0.42."
    at.slider(key="budget").set_value(0.6).run()  # a valid budget clears the message
    assert not [w for w in at.warning if "Not used" in w.value]


def test_the_exact_box_shows_what_it_keeps():
    """Regression: the box showed 3 decimals but kept 6."""
    problem = load_sample()
    at = run_app()
    at.text_input(key="budget_text").input("0.4234567").run()
    no_failure(at)
    assert at.text_input(key="budget_text").value == "0.423457"
    assert card_notes(at)["Budget"][0] == "m = 0.423457"
    assert at.query_params["budget"] == "0.423457"
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.423457) / mc.GIGA:,.1f} GBOPs"
