"""The downloads of the Budget explorer through AppTest: the config and layer table, the
HTML report and the charts ZIP (built on click), and the messages without Chromium."""

from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest
from app_runs import load_sample, no_failure, open_sections, run_app
from app_views import app_chart_configs, app_charts
from streamlit.runtime.media_file_manager import MediaFileManager
from support import needs_chromium

import mpq_core as mc
from mpq_app.ui import export, sections
from mpq_core.charts import images
from mpq_core.report.html import build_report_figures


def test_downloaded_config_equals_the_core_export(stored_files):
    at = run_app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    at.radio(key="abit_rule").set_value("match").run()
    open_sections(at, sections.PINS)
    at.multiselect(key="pin_16").set_value(["conv_in"]).run()
    no_failure(at)
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
    at = run_app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    no_failure(at)
    buttons = {b.key: b for b in at.get("download_button")}
    assert buttons["download_report"].label == "Download report (HTML)"
    assert buttons["download_images"].label == "Download charts (ZIP of PNG + SVG)"
    assert not buttons["download_report"].proto.disabled
    # built on click only: nothing was rendered into the media storage for them
    assert {"mpq_report_0.62.html", "mpq_charts_0.62.zip"} <= set(deferred_files)
    assert not {"mpq_report_0.62.html", "mpq_charts_0.62.zip"} & set(stored_files)

    problem = load_sample()
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
    at = run_app()
    at.slider(key="budget").set_value(0.62).run()
    at.radio(key="solver").set_value("exact").run()
    no_failure(at)
    build = deferred_files["mpq_charts_0.62.zip"]
    data = build()
    archive = zipfile.ZipFile(io.BytesIO(data))
    problem = load_sample()
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
    at = run_app()
    no_failure(at)  # nothing red until asked
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
    at = run_app()
    no_failure(at)
    at.button(key="images_unavailable").click().run()
    assert [e.value for e in at.error] == [
        f"chart images need a working Chromium: {broken} --version exited with code 1 (no display)"
    ]
    at.run()  # the error answers the click; it does not stay
    assert not at.error
