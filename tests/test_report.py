"""Report export: self-contained HTML, PNG/SVG/PDF through kaleido, atomic writes."""

from __future__ import annotations

import io
import json
import re
import shutil
import stat
import struct
import subprocess
import threading
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import plotly.graph_objects as go
import pytest
from support import needs_chromium

import mpq_core as mc
from mpq_core.charts import images
from mpq_core.report import html as report


@pytest.fixture(scope="module")
def problem(sample_problem) -> mc.Problem:
    return sample_problem


@pytest.fixture(scope="module")
def solution(problem: mc.Problem) -> mc.Solution:
    return mc.solve(problem, 0.5)


@pytest.fixture(scope="module")
def figures(problem: mc.Problem, solution: mc.Solution) -> dict[str, go.Figure]:
    """A heatmap over the layer names and a gauge of the cost, like the app's."""
    heatmap = go.Figure(
        go.Heatmap(z=[solution.wbits.tolist()], x=list(problem.names), y=["wbit"]),
        layout={"title": {"text": "Weight bits per layer"}},
    )
    gauge = go.Figure(
        go.Indicator(
            mode="gauge+number",
            value=solution.cost / mc.GIGA,
            gauge={"axis": {"range": [0, solution.budget / mc.GIGA]}},
        ),
        layout={"title": {"text": "Cost against budget"}, "width": 600, "height": 400},
    )
    return {"heatmap": heatmap, "gauge": gauge}


def test_headline_figures_of_the_sample_at_half_budget(solution: mc.Solution) -> None:
    # The sample at m = 0.50: 51,359.9 GBOPs spent of a 51,409.5 GBOPs budget (see mpq_core).
    head = report.headline_figures(solution)
    assert head["Final cost"] == "51,359.9 GBOPs"
    assert head["Budget"] == "51,409.5 GBOPs"
    assert head["Utilization"] == "99.9%"
    assert head["Upgrades"] == str(solution.num_upgrades)
    counts = {r.width: r.layers for r in solution.width_shares()}
    assert head["16-bit layers"].startswith(f"{counts[16]} (")
    assert "Greedy gap" not in head


def test_headline_figures_of_exact_name_the_greedy_gap(problem: mc.Problem) -> None:
    exact = mc.solve(problem, 0.5, solver="exact")
    greedy = mc.solve(problem, 0.5)
    head = report.headline_figures(exact, greedy=greedy)
    gap = exact.objective - greedy.objective
    assert gap >= 0
    assert head["Greedy gap"].startswith(f"{gap:,.4g} (")
    assert "LP upper bound" in head


def test_headline_figures_of_an_infeasible_budget_carry_the_message(
    problem: mc.Problem,
) -> None:
    infeasible = mc.solve(problem, 0.05)
    head = report.headline_figures(infeasible)
    assert head["Status"] == "infeasible"
    assert "smallest feasible multiplier" in head["Message"]


def test_one_mean_weight_bits_the_params_weighted_one_in_report_cli_and_app(
    problem: mc.Problem,
) -> None:
    """Issue 19, item 12: the report showed 13.25 per layer / 7.61 MAC-weighted at m = 0.37
    while the card, the mean_wbits limit and the CLI meant the params-weighted 8.73; its
    objective read "105"."""
    from mpq_app.ui.render import headline_items, weight_items
    from mpq_core.report import text as text_report

    solution = mc.solve(problem, 0.37)
    params = problem.params
    by_hand = float((params * solution.wbits).sum() / params.sum())  # the W-bits of papers
    assert round(by_hand, 2) == 8.73
    head = report.headline_figures(solution)
    assert head["Mean weight bits"] == "8.73 bits (params-weighted)"
    assert head["Objective"] == "105.045 (94.9% of the maximum)"
    assert not [v for v in head.values() if "per layer" in v or "MAC-weighted" in v]
    means = [line for line in text_report.report_lines(solution) if "mean" in line.lower()]
    assert means == ["Mean weight bits: 8.73 (params-weighted); weight memory 894.33 MiB"]
    cards = {card.label: card.value for card in headline_items(solution)}
    cards |= {card.label: card.value for card in weight_items(solution)}
    assert [label for label in cards if "bits" in label.lower()] == ["Mean weight bits"]
    assert cards["Mean weight bits"] == "8.73 bits"


def test_settings_list_the_limits_with_the_digits_that_matter(problem: mc.Problem) -> None:
    limits = [mc.Limit("bops", "0.4x"), mc.Limit("mean_wbits", "8.363527239150508")]
    solution = mc.solve(problem, limits=limits)
    settings = report.report_settings(solution)
    assert settings["Limits"] == "bops <= 0.4x; mean_wbits <= 8.36353"


def test_settings_name_the_inputs_and_cost_model(solution: mc.Solution) -> None:
    settings = report.report_settings(solution)
    flops, sens = mc.sample_inputs()
    assert settings["Layer file"].startswith(flops.name)
    assert settings["Sensitivity file"].startswith(sens.name)
    assert settings["Budget multiplier"] == "0.50"
    assert settings["Weight-width ladder"] == "4/8/16"
    assert settings["Sensitivity"] == "scalar, synthetic"


def test_report_html_is_self_contained_and_holds_every_figure(
    problem: mc.Problem, solution: mc.Solution, figures: dict[str, go.Figure]
) -> None:
    head = report.headline_figures(solution)
    text = report.report_html(figures, head, settings=report.report_settings(solution))
    # plotly.js is inline, once, and nothing is loaded from elsewhere
    assert text.count("<script") == 1 + len(figures)
    assert re.search(r"<script[^>]*\bsrc=", text) is None
    assert "Plotly.newPlot" in text
    # each figure's own data: the heatmap's layer names, the gauge's number, both titles
    for name in (problem.names[0], problem.names[-1]):
        assert json.dumps(name) in text
    assert json.dumps(solution.cost / mc.GIGA) in text
    assert "Weight bits per layer" in text
    assert "Cost against budget" in text
    for key in figures:
        assert f'id="chart-{key}"' in text
    # headline figures and settings
    assert "<th>Final cost</th><td>51,359.9 GBOPs</td>" in text
    assert "sample_data/sd14_unet/sensitivity_100_prompts.json" in text


def test_report_html_escapes_text() -> None:
    text = report.report_html({}, {"<b>label</b>": "a & b"}, title="x < y")
    assert "<title>x &lt; y</title>" in text
    assert "&lt;b&gt;label&lt;/b&gt;" in text
    assert "a &amp; b" in text


def test_write_report_html_only_starts_no_browser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    def no_browser(*args: object, **kwargs: object) -> None:
        raise AssertionError("the HTML report must not need a browser")

    monkeypatch.setattr(images, "check_browser", no_browser)
    monkeypatch.setattr(images.ImageRenderer, "start", no_browser)
    paths = report.write_report(figures, {"Final cost": "1 GBOPs"}, tmp_path, formats=("html",))
    assert paths == [tmp_path / "report.html"]
    assert paths[0].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR


@pytest.mark.slow
@needs_chromium
def test_write_report_writes_valid_images_at_print_size(
    tmp_path: Path, solution: mc.Solution, figures: dict[str, go.Figure]
) -> None:
    out = tmp_path / "nested" / "report"
    paths = report.write_report(
        figures,
        report.headline_figures(solution),
        out,
        formats=("html", "png", "svg", "pdf"),
        settings=report.report_settings(solution),
    )
    names = sorted(p.name for p in paths)
    expected = ["report.html"] + [f"{k}.{f}" for k in figures for f in ("png", "svg", "pdf")]
    assert names == sorted(expected)
    assert sorted(p.name for p in out.iterdir()) == names  # no temporary files left
    for key, fig in figures.items():
        width, height = _png_size((out / f"{key}.png").read_bytes())
        assert (width, height) == (
            (fig.layout.width or images.IMAGE_WIDTH) * report.PNG_SCALE,
            (fig.layout.height or images.IMAGE_HEIGHT) * report.PNG_SCALE,
        )
        root = ET.fromstring((out / f"{key}.svg").read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert (out / f"{key}.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (out / "heatmap.svg").read_text(encoding="utf-8")
    assert "Weight bits per layer" in svg


def _broken_browser(tmp_path: Path) -> Path:
    script = tmp_path / "chromium"
    script.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n", encoding="utf-8")
    script.chmod(0o755)
    return script


def test_a_missing_browser_fails_at_once_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.setattr(images.ImageRenderer, "start", _never_started)
    with pytest.raises(report.ImageExportError) as info:
        report.write_report(figures, {}, tmp_path / "out", formats=("html", "png"))
    assert str(info.value) == (
        "chart images need Chromium: BROWSER_PATH=/nonexistent/chromium does not exist "
        "(install it: apt-get install chromium, or point BROWSER_PATH at Chrome/Chromium)"
    )
    assert not (tmp_path / "out").exists()  # nothing written, not even the HTML


def test_a_broken_browser_fails_at_once_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    broken = _broken_browser(tmp_path)
    monkeypatch.setenv("BROWSER_PATH", str(broken))
    monkeypatch.setattr(images.ImageRenderer, "start", _never_started)
    with pytest.raises(report.ImageExportError) as info:
        report.figure_images(figures, ("svg",))
    assert str(info.value) == (
        f"chart images need a working Chromium: {broken} --version exited with code 1 "
        "(cannot open display)"
    )
    broken.chmod(0o644)
    with pytest.raises(report.ImageExportError, match=r"^chart images need a working Chromium: "
                       rf"{re.escape(str(broken))} is not executable$"):  # fmt: skip
        report.figure_images(figures, ("svg",))


def _never_started(*args: object) -> None:
    raise AssertionError("no browser may start after a failed check")


def test_no_browser_on_path_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("BROWSER_PATH", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(report.ImageExportError) as info:
        images.check_browser()
    assert str(info.value) == (
        "chart images need Chromium, and none was found on PATH "
        "(install it: apt-get install chromium, or set BROWSER_PATH)"
    )
    found = tmp_path / "chromium-browser"
    found.write_text("#!/bin/sh\necho 'Chromium 1.0'\n", encoding="utf-8")
    found.chmod(0o755)
    assert images.check_browser() == found


def test_a_browser_that_fails_to_start_is_not_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    async def cannot_open(self: object) -> None:
        raise RuntimeError("The browser seemed to close immediately after starting.")

    monkeypatch.setattr(images.ImageRenderer, "_open", cannot_open)
    with images.ImageRenderer(Path("/usr/bin/chromium")) as renderer:
        with pytest.raises(report.ImageExportError) as info:
            renderer.render([("a.svg", go.Figure(), {"format": "svg"})])
        assert not renderer.alive()
    assert str(info.value) == (
        "chart images: Chromium at /usr/bin/chromium failed: "
        "The browser seemed to close immediately after starting."
    )


def test_a_renderer_failure_is_one_line_naming_the_browser(
    monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    async def crash(self: object, jobs: object) -> None:
        raise RuntimeError("Browser closed.\nmore detail")

    async def opened(self: object) -> None:
        return None

    monkeypatch.setattr(images.ImageRenderer, "_open", opened)
    monkeypatch.setattr(images.ImageRenderer, "_render", crash)
    with images.ImageRenderer(Path("/usr/bin/chromium")) as renderer:
        with pytest.raises(report.ImageExportError) as info:
            report.figure_images(figures, ("png",), renderer=renderer)
        assert not renderer.alive()  # a failed browser is not used again
    assert str(info.value) == "chart images: Chromium at /usr/bin/chromium failed: Browser closed."


@pytest.mark.slow
@needs_chromium
def test_one_renderer_serves_several_threads(figures: dict[str, go.Figure]) -> None:
    results: list[dict[str, bytes]] = []
    with images.ImageRenderer(images.check_browser()) as renderer:
        workers = [
            threading.Thread(
                target=lambda: results.append(
                    report.figure_images(figures, ("svg",), renderer=renderer)
                )
            )
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
        assert renderer.alive()
    assert not renderer.alive()  # stopped with the block
    assert [sorted(r) for r in results] == [["gauge.svg", "heatmap.svg"]] * 2
    for r in results:
        assert all(ET.fromstring(data).tag.endswith("svg") for data in r.values())


def test_chart_zip_entries_unpack_as_ordinary_files(tmp_path: Path) -> None:
    """Regression: files unzipped from the charts ZIP were mode 0600."""
    data = images.images_zip({"heatmap_m0.50.png": b"\x89PNG...", "heatmap_m0.50.svg": b"<svg/>"})
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == ["heatmap_m0.50.png", "heatmap_m0.50.svg"]
    for info in archive.infolist():
        assert info.create_system == 3
        assert stat.S_ISREG(info.external_attr >> 16)
        assert stat.S_IMODE(info.external_attr >> 16) == 0o644
    assert archive.read("heatmap_m0.50.svg") == b"<svg/>"
    unzip = shutil.which("unzip")
    if unzip:  # the command a user runs applies the stored mode
        subprocess.run([unzip, "-q", str(_write(tmp_path / "c.zip", data)), "-d", str(tmp_path)],
                       check=True)  # fmt: skip
        assert stat.S_IMODE((tmp_path / "heatmap_m0.50.png").stat().st_mode) == 0o644


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_write_report_replaces_an_earlier_report(
    tmp_path: Path, figures: dict[str, go.Figure]
) -> None:
    (tmp_path / "report.html").write_text("old", encoding="utf-8")
    report.write_report(figures, {"Final cost": "2 GBOPs"}, tmp_path, formats=["HTML"])
    text = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "2 GBOPs" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize("key", ["", "../x", "a b", "heat/map", ".hidden"])
def test_figure_keys_must_be_plain_names(key: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a plain name"):
        report.write_report({key: go.Figure()}, {}, tmp_path, formats=("html",))
    assert list(tmp_path.iterdir()) == []


def test_unknown_format_is_refused_before_writing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown report format\(s\) \['jpeg'\]"):
        report.write_report({"a": go.Figure()}, {}, tmp_path, formats=("html", "jpeg"))
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def sweep(problem: mc.Problem):
    return mc.sweep_budgets(problem, [0.2, 0.5, 0.8], solvers=("greedy", "exact"))


MAIN_CHARTS = ["heatmap", "distribution", "budget_use", "budget_curve", "slack"]


def test_report_figures_are_the_app_charts(
    problem: mc.Problem, solution: mc.Solution, sweep
) -> None:
    figures = report.build_report_figures(problem, solution, sweep)
    assert list(figures) == [*MAIN_CHARTS, "solver_gap"]  # the gap: both solvers in the sweep
    for key, fig in figures.items():
        assert fig.layout.meta["file"] == f"{key}_m0.50"
    greedy_only = sweep[sweep["solver"] == "greedy"]
    assert "solver_gap" not in report.build_report_figures(problem, solution, greedy_only)
    other = mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
    with pytest.raises(ValueError, match="not computed for this problem"):
        report.build_report_figures(other, solution, sweep)


def test_camera_button_exports_what_the_other_paths_export(
    problem: mc.Problem, solution: mc.Solution, sweep
) -> None:
    """Regression: the camera button saved the on-screen size, legends clipped."""
    for key, fig in report.build_report_figures(problem, solution, sweep).items():
        config = report.chart_config(fig, key)
        assert config["toImageButtonOptions"] == {
            "format": "png",
            "width": fig.layout.width,
            "height": fig.layout.height,
            "scale": report.PNG_SCALE,
            "filename": f"{key}_m0.50",
        }
        assert images.image_options(fig, "png") == {
            "format": "png", "width": fig.layout.width, "height": fig.layout.height,
            "scale": report.PNG_SCALE,
        }  # fmt: skip
    assert images.image_stem("fig", go.Figure()) == "fig"  # a figure with no name: its key
    with pytest.raises(ValueError, match="not a plain name"):
        images.image_stem("x", go.Figure(layout={"meta": {"file": "../escape"}}))


def test_view_report_html_holds_the_view(problem: mc.Problem, solution: mc.Solution, sweep) -> None:
    exact = mc.solve(problem, 0.5, solver="exact")
    text = report.view_report_html(problem, exact, sweep, greedy=solution)
    assert "<title>Mixed-precision allocation at budget multiplier 0.50</title>" in text
    for key in [*MAIN_CHARTS, "solver_gap"]:
        assert f'id="chart-{key}"' in text
    assert json.dumps(problem.names[1]) in text  # a layer name in the heatmap's cells
    assert '"filename": "heatmap_m0.50"' in text  # the report's camera buttons too
    assert "<th>Greedy gap</th>" in text
    assert "<th>Solver</th><td>exact</td>" in text


@pytest.mark.slow
@needs_chromium
def test_write_view_report_names_images_by_budget(
    tmp_path: Path, problem: mc.Problem, solution: mc.Solution, sweep
) -> None:
    greedy_sweep = sweep[sweep["solver"] == "greedy"]
    paths = report.write_view_report(
        problem, solution, greedy_sweep, tmp_path, formats=("png", "svg")
    )
    assert sorted(p.name for p in paths) == sorted(
        f"{k}_m0.50.{f}" for k in MAIN_CHARTS for f in ("png", "svg")
    )
    figures = report.build_report_figures(problem, solution, greedy_sweep)
    for key, fig in figures.items():
        size = _png_size((tmp_path / f"{key}_m0.50.png").read_bytes())
        assert size == (fig.layout.width * 2, fig.layout.height * 2)
        svg = (tmp_path / f"{key}_m0.50.svg").read_text(encoding="utf-8")
        # the context subtitle is in the image: model, budget, solver, ladder (wrapped at its
        # " · " in a half-page figure, one text line each)
        lines = fig.layout.title.subtitle.text.split("<br>")
        expected = "stable-diffusion-v1-4 UNet2DConditionModel · m = 0.50 · greedy · W4/8/16"
        assert " · ".join(lines) == expected
        assert all(f">{line}<" in svg for line in lines), key
    heatmap = (tmp_path / "heatmap_m0.50.svg").read_text(encoding="utf-8")
    assert "conv_in (1)" in heatmap and "W16 · A16" in heatmap  # legend drawn, not clipped
