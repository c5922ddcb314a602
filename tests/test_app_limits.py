"""The app with several limits, groups and ties (AppTest): sliders per limit, the weight
figures, the trade-off map, the exported config re-costed from the raw files, bad setups
that keep the last good one, and links that reopen the same view."""

from __future__ import annotations

import html
import json
import math
import re

import pytest
from app_runs import open_sections, run_app
from app_views import app_charts, app_metrics
from streamlit.testing.v1 import AppTest
from support import REPO

import mpq_core as mc
from mpq_app.ui import sections

RAW = json.loads((REPO / "sample_data/sd14_unet/flops_analysis_unet.json").read_text())["layers"]


def _app(query: dict | None = None) -> AppTest:
    return run_app(query, timeout=90)


def _ok(at: AppTest) -> None:
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def _mean(alloc: dict[str, int], names=None) -> float:
    names = names or list(alloc)
    return math.fsum(RAW[n]["params"] * alloc[n] for n in names) / math.fsum(
        RAW[n]["params"] for n in names
    )


def _bops(config: dict) -> float:
    return math.fsum(
        RAW[n]["macs"] * (q["wbit"] * q["abit"]) for n, q in config["quantization_config"].items()
    )


MAX_BOPS = math.fsum(v["macs"] * 256 for v in RAW.values())


def test_two_limits_two_sliders_and_an_export_that_meets_both(stored_files):
    at = _app({"budget": "0.4", "limit": "mean_wbits<=6"})
    _ok(at)
    assert at.slider(key="budget").value == 0.4
    assert at.slider(key="limit_slider_1").value == 6.0
    metrics = app_metrics(at)
    assert float(metrics["Mean weight bits"].split()[0]) <= 6.0
    uses = app_charts(at)["limits_use"]
    assert [html.unescape(t["name"]) for t in uses["data"] if t["type"] == "bar"] == [
        "use: bops <= 0.4x",
        "use: mean_wbits <= 6",
    ]
    at.slider(key="limit_slider_1").set_value(5.0).run()
    at.slider(key="budget").set_value(0.6).run()
    _ok(at)
    assert at.query_params["limit"] == "mean_wbits<=5"
    assert at.query_params["budget"] == "0.6"
    (name,) = [n for n in stored_files if n.startswith("quantization_config_bops0.6x_mean_wbits5")]
    config = json.loads(stored_files[name])
    alloc = config["bit_allocation"]
    assert _mean(alloc) <= 5.0
    assert _bops(config) <= 0.6 * MAX_BOPS
    assert [x["at_most"] for x in config["metadata"]["limits"]] == ["0.6x", "5"]
    # byte-identical to what the engine (and the CLI) writes for the same setup
    problem = mc.load_problem(*mc.sample_inputs())
    solution = mc.solve(problem, limits=[mc.Limit("bops", "0.6x"), mc.Limit("mean_wbits", "5")])
    assert stored_files[name] == mc.config_json(mc.export_config(solution)).encode()
    assert mc.config_filename(solution) == name


def test_a_group_limit(stored_files):
    at = _app(
        {"budget": "0.5", "group": ["content:*.attn2.*|*.ff.*"], "limit": "mean_wbits@content<=5"}
    )
    _ok(at)
    content = [n for n in RAW if ".attn2." in n or ".ff." in n]
    assert metrics_of_group(at, "content") <= 5.0
    (name,) = [
        n for n in stored_files if n.startswith("quantization_config_bops0.5x_mean_wbits@content5")
    ]
    alloc = json.loads(stored_files[name])["bit_allocation"]
    assert _mean(alloc, content) <= 5.0
    assert "groups" in app_charts(at)


def metrics_of_group(at: AppTest, group: str) -> float:
    value = app_metrics(at)[group]
    return float(value.split()[0])


def test_a_tie_keeps_layers_together():
    at = _app({"budget": "0.2", "tie": "conv_in,down_blocks.0.resnets.0.conv1"})
    _ok(at)
    heat = app_charts(at)["heatmap"]["data"][0]
    widths = {}
    for names, zs in zip(heat["customdata"], heat["z"], strict=True):
        for name, z in zip(names, zs, strict=True):
            if name:
                widths[name] = z
    assert widths["conv_in"] == widths["down_blocks.0.resnets.0.conv1"]


def test_a_limit_that_cannot_be_resolved_keeps_the_last_good_setup():
    at = _app({"budget": "0.5", "limit": "mean_wbits<=6"})
    _ok(at)
    spec = at.session_state["spec"]  # the settings: their limits are the table's rows
    at.session_state["spec"] = spec.with_limits((spec.limits[0], mc.Limit("speed", "1")))
    at.run()
    assert not at.exception
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]  # as shown (unescaped)
    assert any("unknown resource 'speed'" in e and "last working limits" in e for e in errors)
    assert [limit.resource for limit in at.session_state["spec"].limits] == ["bops", "mean_wbits"]
    at.run()  # the next run is clean again
    _ok(at)


def test_a_two_limit_link_reopens_the_same_view():
    at = _app({"budget": "0.35", "limit": ["mean_wbits<=7", "wbits<=0.5r"], "solver": "exact"})
    _ok(at)
    params = {
        k: at.query_params.get_all(k) if hasattr(at.query_params, "get_all") else at.query_params[k]
        for k in at.query_params
    }
    again = _app({k: (v if isinstance(v, list) else [v]) for k, v in params.items()})
    _ok(again)
    assert app_metrics(again) == app_metrics(at)
    assert again.slider(key="limit_slider_2").value == at.slider(key="limit_slider_2").value


def test_the_trade_off_map_marks_the_current_setting():
    at = _app({"budget": "0.4", "limit": "mean_wbits<=6"})
    _ok(at)
    fig = app_charts(at)["tradeoff_map"]
    heat = fig["data"][0]
    assert len(heat["x"]) == 21 and len(heat["y"]) == 21
    (current,) = [t for t in fig["data"] if t.get("name") == "current setting"]
    assert (current["x"], current["y"]) == ([0.4], [6.0])
    # the greedy fills the map: every cell is a greedy solve of the two limits
    problem = mc.load_problem(*mc.sample_inputs())
    x, y = heat["x"][10], heat["y"][5]
    s = mc.solve(problem, limits=[mc.Limit("bops", f"{x}x"), mc.Limit("mean_wbits", f"{y}")])
    assert heat["z"][5][10] == pytest.approx(s.objective_share * 100)


def test_a_floor_from_a_link_has_its_slider_its_row_and_an_export_that_meets_it(stored_files):
    at = open_sections(_app({"budget": "0.5", "limit": "mean_wbits>=9"}), sections.LIMITS)
    _ok(at)
    slider = at.slider(key="limit_slider_1")
    assert slider.value == 9.0 and slider.label == "mean_wbits at least (absolute)"
    (editor,) = [d for d in at.sidebar.dataframe if d.key.startswith("limits_editor_")]
    assert editor.value.values.tolist() == [["bops", "0.5x"], ["mean_wbits", ">=9"]]
    uses = app_charts(at)["limits_use"]
    assert [html.unescape(t["name"]) for t in uses["data"] if t["type"] == "bar"] == [
        "use: bops <= 0.5x",
        "use: mean_wbits >= 9",
    ]
    slider.set_value(10.0).run()
    _ok(at)
    assert at.query_params["limit"] == "mean_wbits>=10"  # the slider keeps the sign
    (name,) = [
        n for n in stored_files if n.startswith("quantization_config_bops0.5x_mean_wbitsge10")
    ]
    config = json.loads(stored_files[name])
    assert _mean(config["bit_allocation"]) >= 10.0
    assert _bops(config) <= 0.5 * MAX_BOPS
    assert config["metadata"]["limits"][1]["at_least"] == "10"
    problem = mc.load_problem(*mc.sample_inputs())
    solution = mc.solve(
        problem, limits=[mc.Limit("bops", "0.5x"), mc.Limit("mean_wbits", at_least="10")]
    )
    assert stored_files[name] == mc.config_json(mc.export_config(solution)).encode()


def test_a_row_of_the_limits_table_reads_either_sign():
    from mpq_app.ui.constraints import _cells, _limit_of_cells

    assert _limit_of_cells("bpw", " >= 4.2") == mc.Limit("bpw", at_least="4.2")
    assert (
        _limit_of_cells("bpw", "<=5.4") == _limit_of_cells("bpw", "5.4") == mc.Limit("bpw", "5.4")
    )
    for limit in (mc.Limit("mean_wbits", at_least="6", group="late"), mc.Limit("bops", "0.4x")):
        assert _limit_of_cells(*_cells(limit)) == limit


# --- every slider live (ui.live: a group per slider) ---------------------------------------


def _views_and_states(at: AppTest) -> tuple[dict[str, dict], dict[str, dict]]:
    """Each live view's data and each group's state, parsed as the browser parses them."""
    from mpq_app.ui import live

    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    states = {k[len("live_state_") :]: live.decode(v) for k, v in elements.items()
              if k.startswith("live_state_")}  # fmt: skip
    views = {k: live.decode(v) for k, v in elements.items() if k in live.live_views_all()}
    return views, states


def test_with_two_limits_every_view_holds_the_steps_of_both_sliders():
    """The budget and a mean-bits cap: each view holds a part per slider it follows (the
    budget's curves only the budget's), each part one state per step of its slider; the
    state of each step of the mean-bits slider is the greedy's allocation there with the
    budget held at 0.4, and the state of each group stands at the values in use."""
    from mpq_core.charts.live import unpack_state

    at = _app({"budget": "0.4", "limit": "mean_wbits<=6"})
    _ok(at)
    views, states = _views_and_states(at)
    assert set(states) == {"budget", "limit_1"}
    assert states["budget"]["value"] == 0.4 and states["limit_1"]["value"] == 6.0
    parts = {name: [p["group"] for p in view["groups"]] for name, view in views.items()}
    assert parts["cards"] == parts["heatmap"] == parts["limits_use"] == ["budget", "limit_1"]
    assert parts["budget_curve"] == parts["slack"] == ["budget"]
    budget, mean = views["weights"]["groups"]
    assert budget["slider"] == "budget" and len(budget["grid"]) == 101
    assert mean["slider"] == "limit_slider_1" and mean["grid"][0] <= 4 and mean["grid"][-1] >= 16
    problem = mc.load_problem(*mc.sample_inputs())
    for index in (0, len(mean["grid"]) // 3, len(mean["grid"]) - 1):
        value = mean["grid"][index]
        cards = {c["label"]: c["value"] for c in unpack_state(mean["table"], index)["cards"]}
        limits = [mc.Limit("bops", "0.4x"), mc.Limit("mean_wbits", f"{value}")]
        greedy = mc.solve(problem, limits=limits)
        assert cards["Mean weight bits"] == f"{greedy.param_mean_wbits():.2f} bits", value


def test_with_two_limits_and_the_exact_solver_the_values_in_use_show_the_exact_answer():
    """Several limits: the steps are the greedy's (an exact MILP per step of every slider
    would be too slow), the page says so, and the state of the values in use carries the
    exact solver's own answer, which the cards then show."""
    at = _app({"budget": "0.4", "limit": "mean_wbits<=6", "solver": "exact"})
    _ok(at)
    assert any("while a slider moves the views show the greedy's" in c.value for c in at.caption)
    _, states = _views_and_states(at)
    assert all(state["override"] is not None for state in states.values())
    problem = mc.load_problem(*mc.sample_inputs())
    exact = mc.solve(
        problem, solver="exact", limits=[mc.Limit("bops", "0.4x"), mc.Limit("mean_wbits", "6")]
    )
    assert exact.status == "optimal"
    assert app_metrics(at)["Objective"] == f"{exact.objective_share:.1%}"


def test_committing_one_slider_solves_the_other_sliders_steps_again():
    """A new mean-bits cap changes what each budget step allocates: the budget's part of the
    views is solved again with the new cap held (the mean-bits part, with the budget held as
    before, is the same)."""
    at = _app({"budget": "0.4", "limit": "mean_wbits<=6"})
    _ok(at)
    before, _ = _views_and_states(at)
    at.slider(key="limit_slider_1").set_value(5.0).run()
    _ok(at)
    after, states = _views_and_states(at)
    assert states["limit_1"]["value"] == 5.0
    budget_before, mean_before = before["heatmap"]["groups"]
    budget_after, mean_after = after["heatmap"]["groups"]
    assert budget_before["table"] != budget_after["table"]
    assert mean_before["table"] == mean_after["table"]
    assert float(app_metrics(at)["Mean weight bits"].split()[0]) <= 5.0
