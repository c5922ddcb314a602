"""The Streamlit app through AppTest: every page renders, and the interactions do what they say."""

from __future__ import annotations

import io
import json
import zipfile
from functools import cache
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from support import chromium_missing

import mpq_core as mc
from mpq_core.report import build_report_figures

REPO = Path(__file__).resolve().parents[1]
MAIN = "dashboard.py"
PAGES = {
    MAIN: ("Budget explorer", {"heatmap", "distribution", "gauge", "cost_curve", "tradeoff"}),
    "pages/1_Compare_budgets.py": ("Compare budgets", {"compare_distribution"}),
    "pages/2_Layers.py": ("Layers", set()),
    "pages/3_Greedy_vs_optimal.py": ("Greedy vs optimal", {"solver_gap"}),
    "pages/4_Data.py": ("Data", set()),
    "pages/5_Validate.py": ("Validate", set()),  # the SD 1.4 sample has no measured results
}
# a layer the greedy leaves at 4 bits at 0.50 on the sample (checked in the pin test)
LOW_LAYER = "up_blocks.2.resnets.0.conv1"


@cache
def _problem(**settings) -> mc.Problem:
    pins = settings.pop("pins", None)
    return mc.load_problem(*mc.sample_inputs(), pins=dict(pins) if pins else None, **settings)


def _app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(REPO / MAIN), default_timeout=60)
    if query:
        at.query_params.update(query)
    return at.run()


def _charts(at: AppTest) -> dict[str, dict]:
    return {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}


def _gauge(at: AppTest) -> float:
    return _charts(at)["gauge"]["data"][0]["value"]


def _heatmap_widths(at: AppTest, problem: mc.Problem) -> dict[str, int]:
    """{layer: width} as drawn in the heatmap (option index -> width of the ladder)."""
    heat = _charts(at)["heatmap"]["data"][0]
    out = {}
    for names, zs in zip(heat["customdata"], heat["z"], strict=True):
        for name, z in zip(names, zs, strict=True):
            if name is not None:
                out[name] = problem.widths[int(z)]
    return out


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _notes(at: AppTest) -> dict[str, str]:
    """Each metric's muted second line (a grey delta) and its description."""
    return {m.label: (m.delta, m.proto.delta_description) for m in at.metric}


def _metric_rows(at: AppTest) -> list[int]:
    """Columns per row of the rows whose every column holds a metric."""
    rows = []
    for block in at.main.children.values():
        columns = list(getattr(block, "children", {}).values())
        kinds = [[c.type for c in col.children.values()] for col in columns]
        if columns and all(k == ["metric"] for k in kinds):
            rows.append(len(columns))
    return rows


def _no_failure(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(page):
    at = _app()
    if page != MAIN:
        at.switch_page(page).run()
    _no_failure(at)
    title, charts = PAGES[page]
    assert at.title[0].value == title
    assert charts <= set(_charts(at))
    assert any("synthetic" in w.value.lower() for w in at.sidebar.warning)


def test_default_view_is_the_sample_at_one_half():
    at = _app()
    solution = mc.solve(_problem(), 0.5)
    metrics = _metrics(at)
    assert at.slider(key="budget").value == 0.5
    assert at.number_input(key="budget_exact").value == 0.5
    assert metrics["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs" == "51,359.9 GBOPs"
    assert metrics["Budget"] == f"{solution.budget / mc.GIGA:,.1f} GBOPs"
    assert metrics["Utilization"] == f"{solution.utilization:.1%}"
    assert metrics["Objective"] == f"{solution.objective_share:.1%}"
    assert metrics["Upgrades"] == str(solution.num_upgrades)
    layer, macs = solution.mean_wbits()
    assert metrics["Mean weight bits"] == f"{layer:.2f} bits" == "14.15 bits"
    notes = _notes(at)
    assert notes["Mean weight bits"] == (f"{macs:.2f} bits", "MAC-weighted")
    assert notes["Budget"] == ("m = 0.500", "× all-16-bit cost")
    assert notes["Utilization"] == (
        f"{(solution.budget - solution.cost) / mc.GIGA:,.1f} GBOPs",
        "left unused",
    )
    # every layer one or two steps up a 4/8/16 ladder: 2 steps each
    assert notes["Upgrades"] == (f"of {2 * solution.problem.n_layers:,}", "possible")
    assert "Greedy gap" not in metrics
    assert _metric_rows(at) == [3, 3]  # six cards in two full rows (no empty slot)
    assert _gauge(at) == pytest.approx(solution.utilization * 100)


def test_moving_the_slider_changes_gauge_and_heatmap():
    problem = _problem()
    at = _app()
    before = _gauge(at), _heatmap_widths(at, problem)
    at.slider(key="budget").set_value(0.3).run()
    _no_failure(at)
    solution = mc.solve(problem, 0.3)
    after = _gauge(at), _heatmap_widths(at, problem)

    assert after[0] == pytest.approx(solution.utilization * 100)
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert after[1] == dict(zip(problem.names, solution.wbits.tolist(), strict=True))
    assert at.number_input(key="budget_exact").value == pytest.approx(0.3)
    assert _metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    cost_curve = _charts(at)["cost_curve"]
    markers = [t for t in cost_curve["data"] if t.get("name") == "current budget"]
    assert markers and all(t["x"] == [0.3] for t in markers)


def test_exact_entry_moves_the_slider_and_sets_the_budget():
    problem = _problem()
    at = _app()
    at.number_input(key="budget_exact").set_value(0.537).run()
    _no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(0.54)
    solution = mc.solve(problem, 0.537)
    assert _metrics(at)["Budget"] == f"{problem.budget_for(0.537) / mc.GIGA:,.1f} GBOPs"
    assert _gauge(at) == pytest.approx(solution.utilization * 100)


def test_switching_to_the_exact_solver_shows_the_greedy_gap():
    problem = _problem()
    at = _app()
    at.slider(key="budget").set_value(0.3).run()
    at.radio(key="solver").set_value("exact").run()
    _no_failure(at)
    row = mc.solver_gap(mc.sweep_budgets(problem, [0.3], solvers=("greedy", "exact"))).iloc[0]
    metrics = _metrics(at)
    assert metrics["Greedy gap"] == f"{row['gap_pct']:.3f} %"
    exact = mc.solve(problem, 0.3, "exact")
    assert metrics["Final cost"] == f"{exact.cost / mc.GIGA:,.1f} GBOPs"
    cost_lines = {
        t.get("name") for t in _charts(at)["cost_curve"]["data"] if t.get("mode") == "lines"
    }
    assert {"greedy", "exact", "budget"} <= cost_lines
    assert _metric_rows(at) == [4, 3]


def test_pinning_a_layer_shows_it_at_its_pinned_width():
    problem = _problem()
    assert mc.solve(problem, 0.5).wbits[problem.names.index(LOW_LAYER)] == 4
    at = _app()
    at.multiselect(key="pin_16").set_value([LOW_LAYER]).run()
    _no_failure(at)
    pinned = _problem(pins=((LOW_LAYER, 16),))
    expected = mc.solve(pinned, 0.5)
    drawn = _heatmap_widths(at, pinned)
    assert drawn[LOW_LAYER] == 16
    assert drawn == dict(zip(pinned.names, expected.wbits.tolist(), strict=True))
    assert _metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"
    shapes = _charts(at)["heatmap"]["layout"]["shapes"]
    assert sum(s.get("name") == "pinned" for s in shapes) == 1
    assert at.query_params["pin16"] == LOW_LAYER


def test_layers_page_lists_pins_and_unpins_them_all():
    at = _app()
    at.multiselect(key="pin_8").set_value(["conv_in", "conv_out"]).run()
    at.switch_page("pages/2_Layers.py").run()
    _no_failure(at)
    table = at.dataframe[0].value
    assert sorted(table.loc[table["pinned"], "layer"]) == ["conv_in", "conv_out"]
    assert set(table.loc[table["pinned"], "wbit"]) == {8}
    at.button(key="layers_unpin_all").click().run()
    _no_failure(at)
    assert not at.dataframe[0].value["pinned"].any()
    assert at.multiselect(key="pin_8").value == []


def test_layers_page_fits_its_columns_and_shows_gains_on_request():
    """Regression: the table was wider than the page (BOPs share and type cut off)."""
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    _no_failure(at)
    table = at.dataframe[0]
    shown = list(table.proto.column_order)
    assert shown == ["layer", "wbit", "abit", "pinned", "type", "macs", "bops_share", "sensitivity"]
    widths = {
        name: spec.get("width")
        for name, spec in json.loads(table.proto.columns).items()
        if name in shown
    }
    assert all(isinstance(w, int) for w in widths.values()), widths
    # the shown columns plus the selection column fit a 1400 px window beside the sidebar
    assert sum(widths.values()) + 40 <= 1000
    at.toggle(key="layer_gains").set_value(True).run()
    _no_failure(at)
    assert list(at.dataframe[0].proto.column_order) == [*shown, "eff_4_8", "eff_8_16"]
    at.switch_page(MAIN).run()
    at.switch_page("pages/2_Layers.py").run()
    assert at.toggle(key="layer_gains").value is True  # kept across pages


def test_layers_page_search_filters_rows():
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    at.text_input(key="layer_search").input("ATTN2.TO_K").run()
    _no_failure(at)
    layers = at.dataframe[0].value["layer"].tolist()
    assert layers and all("attn2.to_k" in name for name in layers)
    assert len(layers) == sum("attn2.to_k" in n for n in _problem().names)


def _subset(path: str, key: str, count: int) -> bytes:
    data = json.loads((REPO / path).read_text())
    data[key] = dict(list(data[key].items())[:count])
    return json.dumps(data).encode()


def test_bad_upload_shows_the_loader_message_and_keeps_the_previous_data():
    flops = _subset(mc.SAMPLES["sd14"].flops, "layers", 40)
    sens = _subset(mc.SAMPLES["sd14"].sensitivity, "sensitivity", 40)
    at = _app()
    at.radio(key="source").set_value("upload").run()
    at.file_uploader(key="upload_flops").upload("small_flops.json", flops).run()
    at.file_uploader(key="upload_sensitivity").upload("small_sens.json", sens).run()
    _no_failure(at)
    small = mc.load_problem(
        mc.InputFile("small_flops.json", flops), mc.InputFile("small_sens.json", sens)
    )
    assert sorted(_heatmap_widths(at, small)) == sorted(small.names)
    assert len(small.names) == 40

    bad = b'{"sensitivity": {"conv_in": "high"}}'
    at.file_uploader(key="upload_sensitivity").clear().upload("bad_sens.json", bad).run()
    with pytest.raises(mc.InputError) as err:
        mc.load_inputs(mc.InputFile("small_flops.json", flops), mc.InputFile("bad_sens.json", bad))
    assert not at.exception
    assert [e.value for e in at.error] == [str(err.value)]
    assert "bad_sens.json" in str(err.value)
    # the previous (good) upload is still what the page shows
    assert sorted(_heatmap_widths(at, small)) == sorted(small.names)
    expected = mc.solve(small, 0.5)
    assert _metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"


@pytest.fixture
def stored_files(monkeypatch):
    """Every file handed to the media storage (download data), by file name."""
    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        data = path_or_data.encode() if isinstance(path_or_data, str) else path_or_data
        if filename:
            stored[filename] = bytes(data)
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return stored


def test_downloaded_config_equals_the_core_export(stored_files):
    at = _app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    at.radio(key="abit_rule").set_value("match").run()
    at.multiselect(key="pin_16").set_value(["conv_in"]).run()
    _no_failure(at)
    problem = mc.load_problem(*mc.sample_inputs(), abit_rule="match", pins={"conv_in": 16})
    solution = mc.solve(problem, 0.62, "exact")
    name = mc.config_filename(0.62)
    assert name == "quantization_config_0.62.json"
    assert stored_files[name] == mc.config_json(mc.export_config(solution)).encode()
    assert stored_files["layers_0.62.csv"] == mc.layers_csv(solution).encode()
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["download_config"].label == "Download config (JSON)"
    assert buttons["download_csv"].label == "Download layers (CSV)"
    assert not buttons["download_config"].proto.disabled


@pytest.fixture
def deferred_files(monkeypatch):
    """Every download built on click (``data`` a callable), by file name: the callable."""
    deferred: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        deferred[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return deferred


def test_report_and_chart_downloads_hold_the_current_view(deferred_files, stored_files):
    at = _app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    _no_failure(at)
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["download_report"].label == "Download report (HTML)"
    assert buttons["download_images"].label == "Download charts (ZIP of PNG + SVG)"
    assert not buttons["download_report"].proto.disabled
    # built on click only: nothing was rendered into the media storage for them
    assert {"mpq_report_0.62.html", "mpq_charts_0.62.zip"} <= set(deferred_files)
    assert not {"mpq_report_0.62.html", "mpq_charts_0.62.zip"} & set(stored_files)

    problem = _problem()
    exact = mc.solve(problem, 0.62, "exact")
    html = deferred_files["mpq_report_0.62.html"]()
    assert html.startswith("<!DOCTYPE html>")
    assert "conv_in" in html and "up_blocks.2.resnets.0.conv1" in html  # layer names
    assert "Plotly.newPlot" in html and '"type":"heatmap"' in html  # the figure data
    for key in ("heatmap", "distribution", "gauge", "cost_curve", "tradeoff", "solver_gap"):
        assert f'id="chart-{key}"' in html
    assert f"{exact.cost / mc.GIGA:,.1f} GBOPs" in html
    assert "Greedy gap" in html  # the exact view reports the greedy's gap too

    if chromium_missing():
        pytest.skip(f"{chromium_missing()}: chart images not checked")
    archive = zipfile.ZipFile(io.BytesIO(deferred_files["mpq_charts_0.62.zip"]()))
    sweep = mc.sweep_budgets(problem, solvers=("greedy", "exact"))
    keys = build_report_figures(problem, exact, sweep)
    assert sorted(archive.namelist()) == sorted(f"{k}.{f}" for k in keys for f in ("png", "svg"))
    for key in keys:
        assert archive.read(f"{key}.png")[:8] == b"\x89PNG\r\n\x1a\n"
        svg = archive.read(f"{key}.svg").decode()
        assert "<svg" in svg[:300]


def test_without_chromium_the_image_download_explains_how_to_install_it(
    monkeypatch, deferred_files
):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    at = _app()
    _no_failure(at)
    keys = {b.key for b in at.get("download_button")}
    assert "download_images" not in keys
    assert {"download_config", "download_csv", "download_report"} <= keys
    assert any("apt-get install chromium" in c.value for c in at.caption)
    assert "mpq_report_0.50.html" in deferred_files  # the HTML report needs no browser


def test_infeasible_budget_shows_its_message_and_disables_downloads():
    problem = _problem()
    at = _app()
    at.slider(key="budget").set_value(0.05).run()
    assert not at.exception
    solution = mc.solve(problem, 0.05)
    (error,) = at.error
    assert "smallest feasible multiplier" in error.value
    assert solution.message in error.value
    buttons = {b.key: b for b in at.get("download_button")}
    for key in ("download_config", "download_csv", "download_report"):
        assert buttons[key].proto.disabled, key
    if "download_images" in buttons:  # absent without Chromium
        assert buttons["download_images"].proto.disabled
    # one click moves to the smallest feasible budget on the slider's grid
    at.button(key="use_min_multiplier").click().run()
    _no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(solution.min_grid_multiplier)
    assert not at.get("download_button")[0].proto.disabled


def test_query_params_reproduce_the_state():
    query = {
        "budget": "0.42",
        "solver": "exact",
        "rule": "match",
        "discount": "0.35",
        "ladder": "4,8,16",
        "pin16": ["conv_in", "conv_out"],
        "pin4": "mid_block.resnets.0.conv1",
    }
    at = _app(query)
    _no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(0.42)
    assert at.radio(key="solver").value == "exact"
    assert at.radio(key="abit_rule").value == "match"
    assert at.slider(key="discount").value == pytest.approx(0.35)
    assert at.multiselect(key="pin_16").value == ["conv_in", "conv_out"]
    pins = {"conv_in": 16, "conv_out": 16, "mid_block.resnets.0.conv1": 4}
    problem = mc.load_problem(
        *mc.sample_inputs(), abit_rule="match", upgrade_discount=0.35, pins=pins
    )
    solution = mc.solve(problem, 0.42, "exact")
    assert _gauge(at) == pytest.approx(solution.utilization * 100)
    assert _metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"

    # the URL the app writes back opens the same view in a new session
    at.slider(key="budget").set_value(0.66).run()
    written = dict(at.query_params)
    assert written["budget"] == "0.66"
    again = _app(written)
    assert _metrics(again) == _metrics(at)
    assert _gauge(again) == pytest.approx(_gauge(at))


def test_bad_query_params_are_ignored_with_a_note():
    at = _app({"budget": "2", "solver": "simplex"})
    assert not at.exception
    notes = " ".join(w.value for w in at.warning)
    assert "budget" in notes and "simplex" in notes
    assert at.slider(key="budget").value == 0.5
    assert at.radio(key="solver").value == "greedy"


def test_state_survives_switching_pages():
    at = _app()
    at.slider(key="budget").set_value(0.7).run()
    at.radio(key="solver").set_value("exact").run()
    at.multiselect(key="pin_8").set_value(["conv_in"]).run()
    for page in list(PAGES)[1:]:
        at.switch_page(page).run()
        _no_failure(at)
        assert at.radio(key="solver").value == "exact"
        assert at.multiselect(key="pin_8").value == ["conv_in"]
        assert at.query_params["budget"] == "0.7"
    at.switch_page(MAIN).run()
    assert at.slider(key="budget").value == pytest.approx(0.7)
    assert at.number_input(key="budget_exact").value == pytest.approx(0.7)
    assert at.radio(key="solver").value == "exact"
    assert "Greedy gap" in _metrics(at)


def test_per_bit_sample_and_a_ladder_it_cannot_fill():
    at = _app()
    at.radio(key="source").set_value("sd14_per_bit").run()
    _no_failure(at)
    assert at.slider(key="discount").disabled
    problem = mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
    assert _metrics(at)["Final cost"] == (f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs")
    at.pills(key="ladder").set_value([2, 4, 8, 16]).run()
    assert not at.exception
    assert any("per-bit table has no width 2" in e.value for e in at.error)
    assert _metrics(at)["Final cost"] == f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs"


def test_compare_page_shows_each_budget_and_the_layers_that_differ():
    problem = _problem()
    at = _app()
    at.switch_page("pages/1_Compare_budgets.py").run()
    _no_failure(at)
    metrics = _metrics(at)
    for m in (0.3, 0.5, 0.7):
        assert metrics[f"m = {m:.2f}"] == f"{mc.solve(problem, m).cost / mc.GIGA:,.1f} GBOPs"
    assert {"heatmap_m = 0.30", "heatmap_m = 0.50", "heatmap_m = 0.70"} <= set(_charts(at))
    changes = at.dataframe[0].value
    widths = {m: mc.solve(problem, m).wbits for m in (0.3, 0.5, 0.7)}
    differs = [
        name for i, name in enumerate(problem.names) if len({int(widths[m][i]) for m in widths}) > 1
    ]
    assert changes["layer"].tolist() == differs
    at.multiselect(key="compare").set_value([0.5]).run()
    assert any("at least two" in i.value for i in at.info)
