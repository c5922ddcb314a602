"""The Streamlit app through AppTest: every page renders, and the interactions do what they say."""

from __future__ import annotations

import io
import json
import re
import stat
import struct
import zipfile
from functools import cache
from pathlib import Path

import pyarrow as pa
import pytest
from app_views import app_chart_configs, app_charts, app_metrics, live_cards, live_views
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from support import needs_chromium

import mpq_core as mc
from mpq_core.charts import images
from mpq_core.charts.live import unpack_state
from mpq_core.display import gap_percent
from mpq_core.report import build_report_figures
from ui import export, live

REPO = Path(__file__).resolve().parents[1]
MAIN = "dashboard.py"
PAGES = {
    MAIN: ("Budget explorer", {"heatmap", "distribution", "budget_use", "budget_curve", "slack"}),
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


def _unused(at: AppTest) -> float:
    """The unused budget (GBOPs) as the budget-use chart draws it."""
    bars = {t["name"]: t for t in app_charts(at)["budget_use"]["data"]}
    return bars["unused"]["x"][0]


def _expected_unused(solution: mc.Solution) -> float:
    return (solution.budget - solution.cost) / mc.GIGA


def _heatmap_widths(at: AppTest, problem: mc.Problem) -> dict[str, int]:
    """{layer: width} as drawn in the heatmap (option index -> width of the ladder)."""
    heat = app_charts(at)["heatmap"]["data"][0]
    out = {}
    for names, zs in zip(heat["customdata"], heat["z"], strict=True):
        for name, z in zip(names, zs, strict=True):
            if name is not None:
                out[name] = problem.widths[int(z)]
    return out


def _notes(at: AppTest) -> dict[str, str]:
    """Each card's muted second line (a grey note) and its description."""
    notes = {m.label: (m.delta, m.proto.delta_description) for m in at.metric}
    return notes | {
        c["label"]: (c["note"], c["note_description"])
        for c in live_cards(at) + live_cards(at, live.WEIGHTS)
    }


def _metric_rows(at: AppTest) -> list[int]:
    """Cards per row of the live headline cards (the page lays them out in rows this long)."""
    cards = live_views(at).get(live.CARDS)
    if not cards:
        return []
    count, size = len(cards["cards"]), cards["per_row"]
    return [min(size, count - start) for start in range(0, count, size)]


_CODE_SPAN = re.compile(r"(`+)( ?)(.+?)\2\1(?!`)")


def _shown(markdown: str) -> str:
    """What a reader sees of a Markdown body whose outside text was made plain (escaped, and
    words that could become links put in code spans)."""
    out, last = [], 0
    for span in _CODE_SPAN.finditer(markdown):
        out.append(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown[last : span.start()]))
        out.append(span.group(3))
        last = span.end()
    out.append(re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown[last:]))
    return "".join(out)


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
    assert charts <= set(app_charts(at))
    assert any("synthetic" in w.value.lower() for w in at.sidebar.warning)


def test_default_view_is_the_sample_at_one_half():
    at = _app()
    solution = mc.solve(_problem(), 0.5)
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
    notes = _notes(at)
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
    assert _metric_rows(at) == [3, 2]  # five cards in two rows (the weight cards below)
    assert _unused(at) == pytest.approx(_expected_unused(solution))


def test_moving_the_slider_changes_budget_use_and_heatmap():
    problem = _problem()
    at = _app()
    before = _unused(at), _heatmap_widths(at, problem)
    at.slider(key="budget").set_value(0.3).run()
    _no_failure(at)
    solution = mc.solve(problem, 0.3)
    after = _unused(at), _heatmap_widths(at, problem)

    assert after[0] == pytest.approx(_expected_unused(solution))
    assert after[0] != before[0]
    assert after[1] != before[1]
    assert after[1] == dict(zip(problem.names, solution.wbits.tolist(), strict=True))
    assert at.text_input(key="budget_text").value == "0.30"
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"
    for key in ("budget_curve", "slack"):
        markers = [t for t in app_charts(at)[key]["data"] if t.get("name") == "current budget"]
        assert markers and all(t["x"] == [0.3] for t in markers)


def test_exact_entry_moves_the_slider_and_sets_the_budget():
    problem = _problem()
    at = _app()
    at.text_input(key="budget_text").input("0.537").run()
    _no_failure(at)
    assert at.slider(key="budget").value == pytest.approx(0.54)
    solution = mc.solve(problem, 0.537)
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.537) / mc.GIGA:,.1f} GBOPs"
    assert _unused(at) == pytest.approx(_expected_unused(solution))


def test_switching_to_the_exact_solver_shows_the_greedy_gap():
    problem = _problem()
    at = _app()
    at.slider(key="budget").set_value(0.3).run()
    at.radio(key="solver").set_value("exact").run()
    _no_failure(at)
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
    assert _metric_rows(at) == [3, 3]


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
    assert app_metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"
    (marks,) = [t for t in app_charts(at)["heatmap"]["data"] if t.get("name") == "pinned"]
    assert len(marks["x"]) == 1
    assert at.query_params["pin16"] == LOW_LAYER


def test_layers_page_lists_pins_and_unpins_them_all():
    at = _app()
    at.multiselect(key="pin_8").set_value(["conv_in", "conv_out"]).run()
    at.switch_page("pages/2_Layers.py").run()
    _no_failure(at)
    table = at.main.dataframe[0].value
    assert sorted(table.loc[table["pinned"], "layer"]) == ["conv_in", "conv_out"]
    assert set(table.loc[table["pinned"], "wbit"]) == {8}
    at.button(key="layers_unpin_all").click().run()
    _no_failure(at)
    assert not at.main.dataframe[0].value["pinned"].any()
    assert at.multiselect(key="pin_8").value == []


def test_layers_page_fits_its_columns_and_shows_gains_on_request():
    """Regression: the table was wider than the page (BOPs share and type cut off)."""
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    _no_failure(at)
    table = at.main.dataframe[0]
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
    assert list(at.main.dataframe[0].proto.column_order) == [*shown, "eff_4_8", "eff_8_16"]
    at.switch_page(MAIN).run()
    at.switch_page("pages/2_Layers.py").run()
    assert at.toggle(key="layer_gains").value is True  # kept across pages


def test_layers_page_search_filters_rows():
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    at.text_input(key="layer_search").input("ATTN2.TO_K").run()
    _no_failure(at)
    layers = at.main.dataframe[0].value["layer"].tolist()
    assert layers and all("attn2.to_k" in name for name in layers)
    assert len(layers) == sum("attn2.to_k" in n for n in _problem().names)


def _subset(path: str, key: str, count: int) -> bytes:
    data = json.loads((REPO / path).read_text())
    data[key] = dict(list(data[key].items())[:count])
    return json.dumps(data).encode()


def _upload(at: AppTest, flops: tuple[str, bytes], sens: tuple[str, bytes]) -> AppTest:
    at.file_uploader(key="upload_flops").upload(*flops).run()
    return at.file_uploader(key="upload_sensitivity").upload(*sens).run()


def _small_pair() -> tuple[tuple[str, bytes], tuple[str, bytes], mc.Problem]:
    flops = ("small_flops.json", _subset(mc.SAMPLES["sd14"].flops, "layers", 40))
    sens = ("small_sens.json", _subset(mc.SAMPLES["sd14"].sensitivity, "sensitivity", 40))
    small = mc.load_problem(mc.InputFile(*flops), mc.InputFile(*sens))
    assert len(small.names) == 40
    return flops, sens, small


def _sidebar_text(at: AppTest) -> str:
    return " ".join(_shown(m.value) for m in at.sidebar.markdown)


def test_bad_upload_shows_the_loader_message_and_keeps_the_previous_data():
    flops, sens, small = _small_pair()
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(at, flops, sens)
    _no_failure(at)
    assert sorted(_heatmap_widths(at, small)) == sorted(small.names)

    at.slider(key="budget").set_value(0.4).run()  # the accepted pair is named, not re-asked
    assert "Using small_flops.json + small_sens.json (uploaded)" in _sidebar_text(at)
    at.button(key="upload_replace").click().run()
    bad = ("bad_sens.json", b'{"sensitivity": {"conv_in": "high"}}')
    _upload(at, flops, bad)
    with pytest.raises(mc.InputError) as err:
        mc.load_inputs(mc.InputFile(*flops), mc.InputFile(*bad))
    assert not at.exception
    assert [_shown(e.value) for e in at.error] == [str(err.value)]
    assert "bad_sens.json" in str(err.value)
    # the previous (good) upload is still what the page shows
    assert sorted(_heatmap_widths(at, small)) == sorted(small.names)
    expected = mc.solve(small, 0.4)
    assert app_metrics(at)["Final cost"] == f"{expected.cost / mc.GIGA:,.1f} GBOPs"
    # removing the rejected file leaves the previous upload in use, without an error
    at.file_uploader(key="upload_sensitivity").clear().run()
    _no_failure(at)
    assert sorted(_heatmap_widths(at, small)) == sorted(small.names)
    at.button(key="upload_keep").click().run()
    assert "Using small_flops.json + small_sens.json (uploaded)" in _sidebar_text(at)


def test_uploaded_files_stay_named_after_a_page_switch():
    """Regression: every other page showed empty uploaders and "Upload both files to use
    them" while the uploaded data was still in use."""
    flops, sens, small = _small_pair()
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(at, flops, sens)
    for page in list(PAGES)[1:]:
        at.switch_page(page).run()
        _no_failure(at)
        assert "Using small_flops.json + small_sens.json (uploaded)" in _sidebar_text(at)
        uploaders = {u.key for u in at.sidebar.get("file_uploader")}
        assert not uploaders & {"upload_flops", "upload_sensitivity"}
        assert not any("Upload" in _shown(i.value) for i in at.info)
        assert at.button(key="upload_replace").label == "Replace"
    at.switch_page("pages/2_Layers.py").run()
    assert sorted(at.main.dataframe[0].value["layer"]) == sorted(small.names)


def test_a_reloaded_upload_link_says_uploads_are_not_kept():
    """Regression: after a reload the URL said source=upload but the sample was shown."""
    at = _app({"source": "upload"})
    _no_failure(at)
    (info,) = at.info
    text = _shown(info.value)
    assert "not kept across page reloads" in text
    assert f"Until then the app shows {mc.SAMPLES['sd14'].title}." in text
    data = [u for u in at.sidebar.get("file_uploader") if u.key.startswith("upload_")]
    assert {u.key for u in data} == {"upload_flops", "upload_sensitivity", "upload_resources"}
    assert sorted(_heatmap_widths(at, _problem())) == sorted(_problem().names)


def test_a_pair_that_parses_but_builds_no_problem_is_rejected_and_read_once(monkeypatch):
    """Regression: a file that parsed but failed later became the "previous data" (a sticky
    crash), and a rejected upload was parsed again on every rerun."""
    import ui.data

    reads: list[str] = []
    original = ui.data.load_inputs

    def counting(*files, **kwargs):
        reads.append(files[1].name)
        return original(*files, **kwargs)

    monkeypatch.setattr(ui.data, "load_inputs", counting)
    flops = ("two_flops.json", json.dumps({"layers": {"a": {"macs": 1e9}, "b": {"macs": 2e9}}}))
    # per-bit losses where layer b lacks width 4: parses, but no problem can be built
    ragged = {"a": {"4": 0.5, "8": 0.1, "16": 0.0}, "b": {"8": 0.2, "16": 0.0}}
    sens = ("ragged_sens.json", json.dumps({"sensitivity": ragged}))
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(at, (flops[0], flops[1].encode()), (sens[0], sens[1].encode()))
    assert not at.exception
    assert any("per-bit table has no width 4" in _shown(e.value) for e in at.error)
    assert sorted(_heatmap_widths(at, _problem())) == sorted(_problem().names)  # the sample
    for m in (0.3, 0.6, 0.7):  # reruns with the rejected pair still in the uploaders
        at.slider(key="budget").set_value(m).run()
        assert any("per-bit table has no width 4" in _shown(e.value) for e in at.error)
    assert reads.count("ragged_sens.json") == 1
    # removing it: the sample again, no error (the rejected pair never became "previous")
    at.file_uploader(key="upload_sensitivity").clear().run()
    _no_failure(at)
    assert sorted(_heatmap_widths(at, _problem())) == sorted(_problem().names)


def test_data_that_breaks_a_page_does_not_become_the_data_to_fall_back_on(monkeypatch):
    import mpq_core.charts.live

    original = mpq_core.charts.live.bit_heatmap_spec  # what the Budget explorer draws with

    def fails_on_small(solution, *args, **kwargs):
        if solution.problem.n_layers == 40:
            raise OverflowError("/srv/secret/path: cannot draw")
        return original(solution, *args, **kwargs)

    monkeypatch.setattr(mpq_core.charts.live, "bit_heatmap_spec", fails_on_small)
    live.budget_tables_cache_clear()  # the live views of this pair are drawn again
    flops, sens, _ = _small_pair()
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(at, flops, sens)
    assert not at.exception
    (error,) = at.error
    assert "unexpected error (OverflowError)" in error.value
    assert "secret" not in error.value and "/srv" not in error.value
    at.file_uploader(key="upload_flops").clear().run()
    _no_failure(at)  # back on the sample, not stuck on the pair that broke the page
    assert sorted(_heatmap_widths(at, _problem())) == sorted(_problem().names)


def test_an_unexpected_error_becomes_one_short_message_on_every_page(monkeypatch):
    """No exception (with its server paths) reaches the page."""
    import ui.page

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/app/secret.py line 12: boom")

    monkeypatch.setattr(ui.page, "solve_spec", broken)
    monkeypatch.setattr(ui.page, "cached_sweep", broken)
    for page in PAGES:
        at = _app()
        if page != MAIN:
            at.switch_page(page).run()
        assert not at.exception, page
        for error in at.error:
            assert "secret" not in error.value and "/srv" not in error.value
        # the Data page solves nothing; Validate solves only when the sample has measurements
        if page not in ("pages/4_Data.py", "pages/5_Validate.py"):
            assert any("unexpected error (RuntimeError)" in e.value for e in at.error), page


def test_an_error_in_the_budget_fragment_is_the_page_s_error(monkeypatch):
    """The controls and downloads rerun as a fragment; in a whole-page run an error there
    still reaches the page's guard (one short message, no data kept as the fallback)."""
    import ui.export

    def broken(*args, **kwargs):
        raise RuntimeError("/srv/app/secret.py line 12: boom")

    monkeypatch.setattr(ui.export, "downloads", broken)
    at = _app()
    assert not at.exception
    (error,) = at.error
    assert "unexpected error (RuntimeError)" in error.value
    assert "secret" not in error.value


def test_errors_show_no_details_in_the_browser():
    """Streamlit's own error box must not show tracebacks: "none", not false (= stacktrace)."""
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_a_huge_layer_name_gives_a_short_message():
    name = "layer_" + "x" * 300_000
    flops = ("long_flops.json", json.dumps({"layers": {name: {"macs": 1e9}}}).encode())
    sens = ("long_sens.json", json.dumps({"sensitivity": {"other": 0.5}}).encode())
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(at, flops, sens)
    assert not at.exception
    assert at.error
    for element in [*at.error, *at.info, *at.warning, *at.caption, *at.markdown]:
        assert len(element.value) < 3000, element.value[:200]
    # the name is cut in its middle, with its length: "layer_xxx…xxx (300,009 characters)"
    assert any(
        re.search(r"layer_x+…x+'?:? \(300,0\d\d characters\)", _shown(e.value)) for e in at.error
    )


def test_downloaded_config_equals_the_core_export(stored_files):
    at = _app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    at.radio(key="abit_rule").set_value("match").run()
    at.multiselect(key="pin_16").set_value(["conv_in"]).run()
    _no_failure(at)
    problem = mc.load_problem(*mc.sample_inputs(), abit_rule="match", pins={"conv_in": 16})
    solution = mc.solve(problem, 0.62, "exact")
    name = mc.config_filename(solution)  # the CLI's name for these settings
    assert name.startswith("quantization_config_0.62_exact_") and len(name) == 42
    assert stored_files[name] == mc.config_json(mc.export_config(solution)).encode()
    csv_name = name.replace("quantization_config_", "layers_").replace(".json", ".csv")
    assert stored_files[csv_name] == mc.layers_csv(solution).encode()
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
    for key in ("heatmap", "distribution", "budget_use", "budget_curve", "slack", "solver_gap"):
        assert f'id="chart-{key}"' in html
    assert f"{exact.cost / mc.GIGA:,.1f} GBOPs" in html
    assert "Greedy gap" in html  # the exact view reports the greedy's gap too


@pytest.fixture
def render_calls(monkeypatch):
    """How many batches the shared browser rendered (each: the images of one ZIP)."""
    calls: list[int] = []
    original = images.ImageRenderer.render
    export.chart_zip.clear()  # a ZIP another test built would not render again

    def record(self, jobs):
        calls.append(len(jobs))
        return original(self, jobs)

    monkeypatch.setattr(images.ImageRenderer, "render", record)
    return calls


@needs_chromium
def test_chart_zip_holds_every_chart_at_print_size_named_by_budget(deferred_files, render_calls):
    at = _app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    _no_failure(at)
    build = deferred_files["mpq_charts_0.62.zip"]
    data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))
    problem = _problem()
    exact = mc.solve(problem, 0.62, "exact")
    figures = build_report_figures(
        problem, exact, mc.sweep_budgets(problem, solvers=("greedy", "exact"))
    )
    assert sorted(archive.namelist()) == sorted(
        f"{key}_m0.62.{fmt}" for key in figures for fmt in ("png", "svg")
    )
    shown = app_charts(at)
    configs = app_chart_configs(at)
    for key, fig in figures.items():
        info = archive.getinfo(f"{key}_m0.62.png")
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644  # not 0600 once unzipped
        png = archive.read(info.filename)
        assert struct.unpack(">II", png[16:24]) == (fig.layout.width * 2, fig.layout.height * 2)
        svg = archive.read(f"{key}_m0.62.svg").decode()
        solver = "greedy vs exact" if key == "solver_gap" else "exact"
        # the context subtitle (wrapped at its " · " in a half-page figure)
        lines = fig.layout.title.subtitle.text.split("<br>")
        assert " · ".join(lines).endswith(f"m = 0.62 · {solver} · W4/8/16")
        assert all(line in svg for line in lines), lines
        if key in shown:  # the camera button saves the same image
            options = configs[key]["toImageButtonOptions"]
            assert (options["width"], options["height"], options["scale"]) == (
                fig.layout.width, fig.layout.height, 2,
            )  # fmt: skip
            assert options["filename"] == f"{key}_m0.62"
    # nothing changed: the same bytes again, without rendering again
    assert build() == data
    assert render_calls == [len(figures) * 2]


def test_without_chromium_the_zip_button_says_so_at_once(monkeypatch, deferred_files):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    at = _app()
    _no_failure(at)  # nothing red until asked
    assert "mpq_charts_0.50.zip" not in deferred_files
    assert "mpq_report_0.50.html" in deferred_files  # the HTML report needs no browser
    at.button(key="images_unavailable").click().run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "chart images need Chromium: BROWSER_PATH=/nonexistent/chromium does not exist "
        "(install it: apt-get install chromium, or point BROWSER_PATH at Chrome/Chromium)"
    ]


def test_with_a_broken_chromium_the_zip_button_says_so_at_once(monkeypatch, tmp_path):
    broken = tmp_path / "chromium"
    broken.write_text("#!/bin/sh\necho 'no display' >&2\nexit 1\n", encoding="utf-8")
    broken.chmod(0o755)
    monkeypatch.setenv("BROWSER_PATH", str(broken))
    at = _app()
    _no_failure(at)
    at.button(key="images_unavailable").click().run()
    assert [e.value for e in at.error] == [
        f"chart images need a working Chromium: {broken} --version exited with code 1 (no display)"
    ]
    at.run()  # the error answers the click; it does not stay
    assert not at.error


def test_infeasible_budget_shows_its_message_and_disables_downloads():
    problem = _problem()
    at = _app()
    at.slider(key="budget").set_value(0.05).run()
    assert not at.exception
    solution = mc.solve(problem, 0.05)
    (error,) = at.error
    assert "smallest feasible multiplier" in error.value
    assert solution.message in _shown(error.value)
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
    assert _unused(at) == pytest.approx(_expected_unused(solution))
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"

    # the URL the app writes back opens the same view in a new session
    at.slider(key="budget").set_value(0.66).run()
    written = dict(at.query_params)
    assert written["budget"] == "0.66"
    again = _app(written)
    assert app_metrics(again) == app_metrics(at)
    assert _unused(again) == pytest.approx(_unused(at))


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
    assert at.text_input(key="budget_text").value == "0.70"
    assert at.radio(key="solver").value == "exact"
    assert "Greedy gap" in app_metrics(at)


def _live_data(at: AppTest) -> tuple[dict[str, bytes], bytes]:
    """The live views' data and the budget state's data, as sent."""
    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    views = {key: elements[key] for key in live.BUDGET_VIEWS}
    return views, elements[f"live_state_{live.BUDGET.name}"]


def test_a_slider_step_sends_no_view_again_only_a_small_state():
    """Regression (issue 9): each slider step re-sent and redrew all five figures (~150 KB).
    Now the views' data stay the same bytes (Streamlit sends an unchanged element as a
    reference to what the browser holds) and only the state element changes."""
    at = _app()
    views, state = _live_data(at)
    assert live.decode(state) == {
        "group": "budget",
        "slider": "budget",
        "value": 0.5,
        "slider_value": 0.5,
        "override": None,
    }
    for m in (0.62, 0.05, 0.63):
        at.slider(key="budget").set_value(m).run()
        after, new_state = _live_data(at)
        assert after == views
        assert live.decode(new_state)["value"] == m and live.decode(new_state)["override"] is None
        assert len(new_state) < 200
    # a view knows every step: 101 budgets, the headline cards for each
    spec = live.decode(views[live.CARDS])
    assert spec["grid"] == list(mc.DEFAULT_MULTIPLIERS) and len(spec["table"]["steps"]) == 101


def test_a_budget_between_two_steps_sends_its_own_states():
    problem = _problem()
    at = _app()
    at.text_input(key="budget_text").input("0.537").run()
    _no_failure(at)
    _, state = _live_data(at)
    server = live.decode(state)
    assert (server["value"], server["slider_value"]) == (0.537, 0.54)
    assert set(server["override"]) == set(live.BUDGET_VIEWS)
    solution = mc.solve(problem, 0.537)
    assert app_charts(at)["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"


def test_a_step_whose_swept_allocation_differs_sends_the_page_s_own(monkeypatch, request):
    """The live steps come from the sweep; should its allocation at the committed step differ
    from the page's own solve (an equally good optimum, or one left unproven by the sweep's
    time limit), the state carries the page's solution, so what is shown is what downloads."""
    from dataclasses import replace

    problem = _problem()
    real = live._swept

    def shifted(view):  # the sweep's step 0.50 holds the allocation of 0.45
        swept = real(view)
        greedy = list(swept.solutions["greedy"])
        greedy[50] = mc.solve(view.problem, 0.45)
        return replace(swept, solutions={**swept.solutions, "greedy": tuple(greedy)})

    monkeypatch.setattr(live, "_swept", shifted)
    live.budget_tables_cache_clear()  # the views drawn here hold the shifted step:
    request.addfinalizer(live.budget_tables_cache_clear)  # no other test may see them
    at = _app()
    _no_failure(at)
    _, state = _live_data(at)
    server = live.decode(state)
    assert server["value"] == 0.5 and set(server["override"]) == set(live.BUDGET_VIEWS)
    solution = mc.solve(problem, 0.5)
    assert app_charts(at)["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    at.slider(key="budget").set_value(0.6).run()  # an untouched step: no override
    assert live.decode(_live_data(at)[1])["override"] is None


def test_a_problem_above_the_live_size_is_drawn_by_the_server(monkeypatch):
    """Above ``LIVE_MAX_LAYERS`` layers the 101 live steps would be slow to build and send:
    the page draws its charts at the committed budget and says so."""
    import ui.data

    monkeypatch.setattr(ui.data, "LIVE_MAX_LAYERS", 100)  # the sample has 314
    at = _app({"budget": "0.3"})
    _no_failure(at)
    assert not at.get("bidi_component") or live.CARDS not in {
        el.key for el in at.get("bidi_component")
    }
    charts = {el.key: json.loads(el.proto.spec) for el in at.get("plotly_chart")}
    assert set(PAGES[MAIN][1]) <= set(charts)
    assert any("314 layers: the charts follow the budget when" in c.value for c in at.caption)
    solution = mc.solve(_problem(), 0.3)
    assert charts["heatmap"] == json.loads(mc.charts.plot_bit_heatmap(solution).to_json())
    assert app_metrics(at)["Final cost"] == f"{solution.cost / mc.GIGA:,.1f} GBOPs"


def test_weight_cards_and_groups_chart_follow_the_slider_too():
    """Regression: the weight cards and the widths-per-group chart were drawn by the server
    at the committed budget, so while dragging they showed another budget than the rest."""
    from fnmatch import fnmatch

    from mpq_core.constraints import parse_constraints

    raw = json.loads(mc.SAMPLES["sd14"].flops_path.read_text())["layers"]
    at = _app({"group": "content:*.attn2.*|*.ff.*"})
    _no_failure(at)
    elements = {el.key: el.proto.bytes for el in at.get("bidi_component")}
    weights = live.decode(elements[live.WEIGHTS])
    chart = live.decode(elements[live.GROUPS_CHART])
    constraints = parse_constraints({"groups": {"content": ["*.attn2.*", "*.ff.*"]}}, "test")
    spec = mc.Spec(constraints=constraints)
    problem = mc.build_problem(mc.load_inputs(*mc.sample_inputs()), spec)
    members = [n for n in problem.names if fnmatch(n, "*.attn2.*") or fnmatch(n, "*.ff.*")]
    for m in (0.0, 0.3, 0.77):
        index = weights["grid"].index(m)
        cards = {c["label"]: c for c in unpack_state(weights["table"], index)["cards"]}
        solution = mc.solve_spec(problem, spec.with_multiplier(m))
        if not solution.feasible:
            assert cards == {}
            continue
        widths = dict(zip(problem.names, solution.wbits.tolist(), strict=True))
        total = sum(raw[n]["params"] for n in widths)
        mean = sum(raw[n]["params"] * w for n, w in widths.items()) / total
        assert cards["Mean weight bits"]["value"] == f"{mean:.2f} bits", m
        assert cards["content"]["note_description"] == f"{len(members)} layers"
        bars = unpack_state(chart["table"], index)["data"]
        in_group = sum(t["y"][0] for t in bars if t.get("xaxis", "x") == "x")
        assert in_group == len(members), m


@pytest.mark.parametrize("solver", ["greedy", "exact"])
def test_every_live_step_is_the_sweep_row_of_its_budget(solver):
    """The browser switches between steps solved once per setting: each is the cached
    sweep's row at that budget (cost, objective, feasibility)."""
    at = _app()
    if solver == "exact":
        at.radio(key="solver").set_value("exact").run()
    views, _ = _live_data(at)
    spec = live.decode(views[live.CARDS])
    sweep = mc.sweep_budgets(_problem(), solvers=mc.sweep_solvers(solver))
    rows = sweep[sweep["solver"] == solver].set_index("multiplier")
    for index, m in enumerate(spec["grid"]):
        cards = {c["label"]: c for c in unpack_state(spec["table"], index)["cards"]}
        row = rows.loc[m]
        assert cards["Budget"]["note"] == f"m = {m:.2f}"
        if not row["feasible"]:
            assert cards["Allocation"]["value"] == "Infeasible"
            continue
        assert cards["Final cost"]["value"] == f"{row['cost_gbops']:,.1f} GBOPs", m
        assert cards["Objective"]["value"] == f"{row['objective_share']:.1%}", m
        assert cards["Final cost"]["note_description"] == f"{solver} solver"


def test_per_bit_sample_and_a_ladder_it_cannot_fill():
    at = _app()
    at.radio(key="source").set_value("sd14_per_bit").run()
    _no_failure(at)
    assert at.slider(key="discount").disabled
    problem = mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
    assert app_metrics(at)["Final cost"] == (f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs")
    at.pills(key="ladder").set_value([2, 4, 8, 16]).run()
    assert not at.exception
    assert any("per-bit table has no width 2" in _shown(e.value) for e in at.error)
    assert app_metrics(at)["Final cost"] == f"{mc.solve(problem, 0.5).cost / mc.GIGA:,.1f} GBOPs"


def test_compare_page_shows_each_budget_and_the_layers_that_differ():
    problem = _problem()
    at = _app()
    at.switch_page("pages/1_Compare_budgets.py").run()
    _no_failure(at)
    metrics = app_metrics(at)
    for m in (0.3, 0.5, 0.7):
        assert metrics[f"m = {m:.2f}"] == f"{mc.solve(problem, m).cost / mc.GIGA:,.1f} GBOPs"
    assert {"heatmap_m = 0.30", "heatmap_m = 0.50", "heatmap_m = 0.70"} <= set(app_charts(at))
    changes = at.main.dataframe[0].value
    widths = {m: mc.solve(problem, m).wbits for m in (0.3, 0.5, 0.7)}
    differs = [
        name for i, name in enumerate(problem.names) if len({int(widths[m][i]) for m in widths}) > 1
    ]
    assert changes["layer"].tolist() == differs
    at.multiselect(key="compare").set_value([0.5]).run()
    assert any("at least two" in i.value for i in at.info)


def test_compare_page_says_which_budget_is_infeasible_on_every_chart():
    at = _app()
    at.switch_page("pages/1_Compare_budgets.py").run()
    at.multiselect(key="compare").set_value([0.05, 0.5]).run()
    _no_failure(at)
    charts = app_charts(at)
    heat = charts["heatmap_m = 0.05"]
    assert all(z is None for row in heat["data"][0]["z"] for z in row)  # no fallback drawn
    notes = [a["text"] for a in heat["layout"]["annotations"] if a.get("name") == "infeasible"]
    assert notes and notes[0].startswith("<b>Infeasible budget (m = 0.05)</b>")
    assert heat["layout"]["title"]["text"] == "m = 0.05 (infeasible)"
    bars = charts["compare_distribution"]["data"][0]
    assert bars["x"] == ["m = 0.05 (infeasible)", "m = 0.50"]
    assert bars["y"][0] is None
    assert charts["heatmap_m = 0.50"]["layout"]["title"]["text"].startswith("m = 0.50 · ")


def test_an_infeasible_budget_says_so_on_every_chart():
    """Regression: at m = 0.05 the all-lowest fallback was drawn as an allocation and the gauge
    read 250%."""
    at = _app()
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


def test_pin_widths_come_from_the_ladder_in_use_on_every_page():
    """Regression: with the per-bit sample and a 2/4/8/16 ladder (rejected: no width 2) the
    Layers page still offered "2 bits"."""
    at = _app()
    at.radio(key="source").set_value("sd14_per_bit").run()
    at.pills(key="ladder").set_value([2, 4, 8, 16]).run()
    assert any("Using 4/8/16 instead" in _shown(e.value) for e in at.error)
    pin_boxes = {m.key for m in at.sidebar.multiselect if m.key.startswith("pin_")}
    assert pin_boxes == {"pin_4", "pin_8", "pin_16"}
    assert at.query_params["ladder"] == "4,8,16"
    at.switch_page("pages/2_Layers.py").run()
    assert not at.exception
    (widths,) = [b for b in at.get("button_group") if b.key == "layers_pin_width"]
    assert widths.options == ["4 bits", "8 bits", "16 bits"]
    assert {m.key for m in at.sidebar.multiselect if m.key.startswith("pin_")} == {
        "pin_4",
        "pin_8",
        "pin_16",
    }


def test_pin_boxes_have_no_select_all_row_that_enter_would_pick():
    """Regression: "conv_out" + Enter pinned 15 layers (Enter picked "Select N matches")."""
    at = _app()
    for width in (4, 8, 16):
        box = at.multiselect(key=f"pin_{width}")
        assert box.proto.select_all == 0  # never shown


def test_bulk_pinning_is_one_labelled_action_on_the_layers_page():
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    assert "layers_pin_matches" not in {b.key for b in at.button}  # no search, no bulk action
    at.text_input(key="layer_search").input("attn1.to_q").run()
    matches = [n for n in _problem().names if "attn1.to_q" in n]
    button = at.button(key="layers_pin_matches")
    assert _shown(button.label) == f"Pin all {len(matches)} matches of 'attn1.to_q' to 16 bits"
    button.click().run()
    _no_failure(at)
    assert at.multiselect(key="pin_16").value == matches
    table = at.main.dataframe[0].value
    assert table.loc[table["pinned"], "layer"].tolist() == matches


@pytest.mark.parametrize("multiplier", [0.0, 0.05])
def test_an_infeasible_budget_shows_no_contradictory_card(multiplier):
    """Regression: "Utilization 0.0%" (250% at 0.05) next to "over budget"."""
    problem = _problem()
    at = _app()
    at.slider(key="budget").set_value(multiplier).run()
    assert not at.exception
    solution = mc.solve(problem, multiplier)
    metrics, notes = app_metrics(at), _notes(at)
    assert list(metrics) == ["Budget", "Allocation", "Needed", "Shortfall"]
    assert metrics["Allocation"] == "Infeasible"
    assert metrics["Needed"] == f"{problem.min_cost / mc.GIGA:,.1f} GBOPs"
    assert notes["Needed"] == (f"m ≥ {solution.threshold.text}", "smallest feasible")
    assert metrics["Shortfall"] == f"{solution.shortfall / mc.GIGA:,.1f} GBOPs"
    assert not any("%" in value for value in metrics.values())


def test_the_greedy_gap_card_is_left_out_at_an_infeasible_budget():
    at = _app({"solver": "exact", "budget": "0.05"})
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
    problem = _problem()
    at = _app()
    at.text_input(key="budget_text").input("0.42").run()
    at.text_input(key="budget_text").input(typed).run()
    assert not at.exception
    assert at.text_input(key="budget_text").value == "0.42"
    assert at.slider(key="budget").value == pytest.approx(0.42)
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.42) / mc.GIGA:,.1f} GBOPs"
    (warning,) = [w for w in at.warning if "Not used" in w.value]
    assert _shown(warning.value) == f"Not used: {why}. The budget stays at 0.42."
    at.slider(key="budget").set_value(0.6).run()  # a valid budget clears the message
    assert not [w for w in at.warning if "Not used" in w.value]


def test_the_exact_box_shows_what_it_keeps():
    """Regression: the box showed 3 decimals but kept 6."""
    problem = _problem()
    at = _app()
    at.text_input(key="budget_text").input("0.4234567").run()
    _no_failure(at)
    assert at.text_input(key="budget_text").value == "0.423457"
    assert _notes(at)["Budget"][0] == "m = 0.423457"
    assert at.query_params["budget"] == "0.423457"
    assert app_metrics(at)["Budget"] == f"{problem.budget_for(0.423457) / mc.GIGA:,.1f} GBOPs"


def test_compare_starts_from_the_current_budget_and_keeps_the_choice_in_the_link():
    at = _app()
    at.text_input(key="budget_text").input("0.83").run()
    at.switch_page("pages/1_Compare_budgets.py").run()
    _no_failure(at)
    assert at.multiselect(key="compare").value == [0.43, 0.63, 0.83]  # 1.03 is beyond 1
    assert "compare" not in at.query_params  # not chosen yet: it follows the budget
    at.multiselect(key="compare").set_value([0.2, 0.45]).run()
    _no_failure(at)
    assert at.query_params["compare"] == "0.2,0.45"
    again = _app(dict(at.query_params))
    again.switch_page("pages/1_Compare_budgets.py").run()
    assert again.multiselect(key="compare").value == [0.2, 0.45]
    assert set(app_metrics(again)) == {"m = 0.20", "m = 0.45"}


def test_tables_draw_the_layer_column_as_normal_text_and_tiny_shares_as_below_001():
    at = _app()
    at.switch_page("pages/2_Layers.py").run()
    table = at.main.dataframe[0]
    columns = json.loads(table.proto.columns)
    assert not columns["layer"].get("pinned")  # a pinned column is drawn light grey
    assert "format" not in columns["bops_share"]  # the Styler's text is shown
    shown = pa.ipc.open_stream(table.proto.arrow_data.styler.display_values).read_all()
    shares = dict(zip(shown["layer"].to_pylist(), shown["bops_share"].to_pylist(), strict=True))
    solution = mc.solve(_problem(), 0.5)
    row = mc.layer_table(solution).set_index("layer")["bops_share"]
    tiny = row[(row > 0) & (row < 1e-4)].index
    assert len(tiny) and all(shares[name] == "<0.01%" for name in tiny)
    assert shares["conv_in"] == f"{row['conv_in'] * 100:.2f}%"
    for page in ("pages/1_Compare_budgets.py", "pages/3_Greedy_vs_optimal.py"):
        at.switch_page(page).run()
        (changes,) = at.main.dataframe
        assert not json.loads(changes.proto.columns)["layer"].get("pinned")


@pytest.mark.parametrize(
    ("widths", "note"),
    [
        (64, "ladder: expected at most 12 whole numbers from 1 to 64"),  # the engine's bound
        (10, "ladder: the app takes at most 8 widths, got 10"),  # the app's
    ],
)
def test_a_link_cannot_ask_for_a_long_ladder(widths, note):
    """Regression: /?ladder=1,2,...,64&solver=exact kept the server busy for 20 minutes."""
    ladder = ",".join(str(w) for w in range(1, widths + 1))
    at = _app({"ladder": ladder, "solver": "exact"})
    assert not at.exception
    notes = [_shown(w.value) for w in at.warning]
    assert any(note in n for n in notes), notes
    assert at.query_params["ladder"] == "4,8,16"
    assert app_charts(at)["heatmap"]


def test_the_ladder_widget_is_bounded_too():
    at = _app({"ladder": "1,5,7,9,10,11,12,13"})
    _no_failure(at)
    assert at.query_params["ladder"] == "1,5,7,9,10,11,12,13"
    at.pills(key="ladder").set_value([1, 4, 5, 7, 9, 10, 11, 12, 13]).run()
    assert not at.exception
    assert any(
        "at most 8 widths (9 chosen). Using 4/8/16 instead." in _shown(e.value) for e in at.error
    )
    assert at.query_params["ladder"] == "4,8,16"


HOSTILE = {
    "link": "[Click to re-login](https://phish.example/login)",
    "image": "![x](http://127.0.0.1:9/track.png)",
}


def _markdown_bodies(at: AppTest) -> list[str]:
    """Every body Streamlit reads as Markdown: texts, captions, alerts, labels, tooltips."""
    bodies = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success"):
        bodies += [el.value for el in at.get(kind)]
    for widget in [*at.button, *at.get("download_button"), *at.multiselect, *at.text_input]:
        bodies += [widget.label, getattr(widget.proto, "help", "")]
    return bodies


def _assert_no_live_markup(at: AppTest) -> None:
    for body in _markdown_bodies(at):
        outside_code = _CODE_SPAN.sub("", body)  # code spans are never links
        assert not re.search(r"(?<!\\)\]\(", outside_code), body  # no [text](url), ![x](url)
        assert not re.search(r"://|www\.", outside_code), body  # nothing to autolink


def test_link_parameters_are_shown_as_plain_text():
    """Regression: ?solver=[Click](https://...) rendered a live link in the warning box."""
    at = _app(
        {
            "solver": HOSTILE["link"],
            "rule": HOSTILE["image"],
            HOSTILE["link"]: "1",
            "pin16": [HOSTILE["image"], "conv_in"],
        }
    )
    assert not at.exception
    _assert_no_live_markup(at)
    warnings = " ".join(_shown(w.value) for w in at.warning)
    assert HOSTILE["link"] in warnings and HOSTILE["image"] in warnings
    dropped = " ".join(_shown(c.value) for c in at.sidebar.caption)
    assert HOSTILE["image"] in dropped  # the pin name, as typed


def test_file_contents_and_names_are_shown_as_plain_text():
    names = [HOSTILE["link"], '=HYPERLINK("http://x.example")', "conv_*in*"]
    flops = {
        "model": HOSTILE["image"],
        "layers": {name: {"macs": 1e9 * (i + 1)} for i, name in enumerate(names)},
    }
    sens = {
        "metadata": {"synthetic": True, "rule": HOSTILE["link"], "model": HOSTILE["image"]},
        "sensitivity": {name: 0.1 * (i + 1) for i, name in enumerate(names)},
    }
    at = _app()
    at.radio(key="source").set_value("upload").run()
    _upload(
        at,
        ("[f](http://x.example).json", json.dumps(flops).encode()),
        ("![s](http://x.example).json", json.dumps(sens).encode()),
    )
    _no_failure(at)
    for page in PAGES:
        at.switch_page(page).run()
        _no_failure(at)
        _assert_no_live_markup(at)
    at.switch_page("pages/4_Data.py").run()
    text = " ".join(_shown(el.value) for kind in ("markdown", "warning") for el in at.get(kind))
    assert HOSTILE["image"] in text and HOSTILE["link"] in text
