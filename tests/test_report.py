"""Report export: self-contained HTML, PNG/SVG/PDF through kaleido, atomic writes."""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import plotly.graph_objects as go
import pytest
from support import chromium_missing

import mpq_core as mc
from mpq_core import report


def _needs_chromium() -> None:
    """Image export drives Chromium: skip without it locally (under CI it must be there)."""
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)


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
    counts = {w: c for w, c, _ in solution.distribution()}
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

    monkeypatch.setattr("kaleido.start_sync_server", no_browser)
    monkeypatch.setattr("kaleido.calc_fig_sync", no_browser)
    paths = report.write_report(figures, {"Final cost": "1 GBOPs"}, tmp_path, formats=("html",))
    assert paths == [tmp_path / "report.html"]
    assert paths[0].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_write_report_writes_valid_images(
    tmp_path: Path, solution: mc.Solution, figures: dict[str, go.Figure]
) -> None:
    _needs_chromium()
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
        png = (out / f"{key}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", png[16:24])  # IHDR: twice the layout size
        assert (width, height) == (
            (fig.layout.width or report.IMAGE_WIDTH) * report.PNG_SCALE,
            (fig.layout.height or report.IMAGE_HEIGHT) * report.PNG_SCALE,
        )
        root = ET.fromstring((out / f"{key}.svg").read_bytes())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert (out / f"{key}.pdf").read_bytes()[:5] == b"%PDF-"
    svg = (out / "heatmap.svg").read_text(encoding="utf-8")
    assert "Weight bits per layer" in svg


def test_figure_images_use_one_kaleido_server_per_batch(
    monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    _needs_chromium()
    import kaleido

    starts: list[int] = []
    real_start = kaleido.start_sync_server
    monkeypatch.setattr(
        kaleido,
        "start_sync_server",
        lambda *a, **k: (starts.append(1), real_start(*a, **k))[1],
    )
    images = report.figure_images(figures, ("png", "svg"))
    assert set(images) == {(k, f) for k in figures for f in ("png", "svg")}
    assert len(starts) == 1
    assert not kaleido._global_server.is_running()  # stopped after the batch


def test_kaleido_server_is_stopped_when_a_render_fails(
    monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    import kaleido

    calls: list[str] = []
    monkeypatch.setattr(kaleido, "start_sync_server", lambda **k: calls.append("start"))
    monkeypatch.setattr(kaleido, "stop_sync_server", lambda **k: calls.append("stop"))

    def broken(*args: object, **kwargs: object) -> bytes:
        raise OSError("renderer crashed")

    monkeypatch.setattr(kaleido, "calc_fig_sync", broken)
    with pytest.raises(OSError, match="renderer crashed"):
        report.figure_images(figures, ("png",))
    assert calls == ["start", "stop"]


def test_missing_chromium_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, figures: dict[str, go.Figure]
) -> None:
    import kaleido
    from kaleido.errors import ChromeNotFoundError

    monkeypatch.setattr(kaleido, "start_sync_server", lambda **k: None)
    monkeypatch.setattr(kaleido, "stop_sync_server", lambda **k: None)

    def no_chrome(*args: object, **kwargs: object) -> bytes:
        raise ChromeNotFoundError("no chrome")

    monkeypatch.setattr(kaleido, "calc_fig_sync", no_chrome)
    with pytest.raises(RuntimeError, match="apt-get install chromium"):
        report.figure_images(figures, ("svg",))


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


def test_report_figures_are_the_app_charts(
    problem: mc.Problem, solution: mc.Solution, sweep
) -> None:
    figures = report.build_report_figures(problem, solution, sweep)
    assert list(figures) == [
        "heatmap",
        "distribution",
        "gauge",
        "cost_curve",
        "tradeoff",
        "solver_gap",  # both solvers in the sweep
    ]
    assert figures["gauge"].data[0].value == pytest.approx(solution.utilization * 100)
    assert figures["gauge"].layout.width == report.GAUGE_WIDTH
    greedy_only = sweep[sweep["solver"] == "greedy"]
    assert "solver_gap" not in report.build_report_figures(problem, solution, greedy_only)
    other = mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
    with pytest.raises(ValueError, match="not computed for this problem"):
        report.build_report_figures(other, solution, sweep)


def test_view_report_html_holds_the_view(problem: mc.Problem, solution: mc.Solution, sweep) -> None:
    exact = mc.solve(problem, 0.5, solver="exact")
    text = report.view_report_html(problem, exact, sweep, greedy=solution)
    assert "<title>Mixed-precision allocation at budget multiplier 0.50</title>" in text
    for key in ("heatmap", "distribution", "gauge", "cost_curve", "tradeoff", "solver_gap"):
        assert f'id="chart-{key}"' in text
    assert json.dumps(problem.names[1]) in text  # a layer name in the heatmap's cells
    assert json.dumps(exact.utilization * 100) in text  # the gauge's number
    assert "<th>Greedy gap</th>" in text
    assert "<th>Solver</th><td>exact</td>" in text


def test_write_view_report_writes_html_and_images(
    tmp_path: Path, problem: mc.Problem, solution: mc.Solution, sweep
) -> None:
    _needs_chromium()
    greedy_sweep = sweep[sweep["solver"] == "greedy"]
    paths = report.write_view_report(problem, solution, greedy_sweep, tmp_path, formats=("svg",))
    assert sorted(p.name for p in paths) == sorted(
        f"{k}.svg" for k in ("heatmap", "distribution", "gauge", "cost_curve", "tradeoff")
    )
    heatmap = ET.fromstring((tmp_path / "heatmap.svg").read_bytes())
    assert heatmap.tag == "{http://www.w3.org/2000/svg}svg"
    assert "conv_in (1)" in (tmp_path / "heatmap.svg").read_text(encoding="utf-8")
