"""Chart exports in a real browser: the camera button and the charts ZIP give the same
print-size images; screenshots of the main page at 1440 and 800 px for a look at the charts."""

from __future__ import annotations

import io
import stat
import struct
import zipfile
from functools import cache
from pathlib import Path

import pytest
from browser_page import (
    SCREENSHOTS,
    WAIT_MS,
    Page,
    download,
    expect,
    rerun,
    settle,
    wait_for_viewport,
)

import mpq_core as mc
from mpq_core.report.html import build_report_figures, chart_config

pytestmark = pytest.mark.browser

MAIN_CHARTS = ("heatmap", "distribution", "budget_use", "budget_curve", "slack")


@cache
def _figures(multiplier: float = 0.5):
    problem = mc.load_problem(*mc.sample_inputs())
    return build_report_figures(problem, mc.solve(problem, multiplier), mc.sweep_budgets(problem))


def _open_main(page: Page, url: str) -> None:
    with rerun(page):
        page.goto(url)
    page.wait_for_function(
        "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=len(MAIN_CHARTS),
        timeout=WAIT_MS,
    )
    settle(page)  # and any run the drawn page asked for


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("key", ["heatmap", "budget_curve"])
def test_camera_button_saves_the_print_size_figure(
    page: Page, app_url: str, tmp_path: Path, key: str
) -> None:
    """Regression: the camera button saved the on-screen size with clipped legends."""
    _open_main(page, app_url)
    chart = page.locator(f".st-key-{key} .js-plotly-plot")
    chart.scroll_into_view_if_needed()
    chart.hover()
    camera = chart.locator('.modebar-btn[data-title^="Download plot"]')
    saved = download(page, camera, tmp_path)
    fig = _figures()[key]
    assert saved.name == f"{key}_m0.50.png"
    assert _png_size(saved.read_bytes()) == (fig.layout.width * 2, fig.layout.height * 2)
    assert chart_config(fig, key)["toImageButtonOptions"]["filename"] == f"{key}_m0.50"


def test_charts_zip_download_holds_every_chart_named_by_budget(
    page: Page, app_url: str, tmp_path: Path
) -> None:
    _open_main(page, app_url)
    button = page.locator(".st-key-download_images button")
    expect(button).to_contain_text("Download charts (ZIP of PNG + SVG)")
    saved = download(page, button, tmp_path)
    assert saved.name == "mpq_charts_0.50.zip"
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    figures = _figures()
    assert sorted(archive.namelist()) == sorted(
        f"{key}_m0.50.{fmt}" for key in figures for fmt in ("png", "svg")
    )
    for key, fig in figures.items():
        info_png = archive.getinfo(f"{key}_m0.50.png")
        assert stat.S_IMODE(info_png.external_attr >> 16) == 0o644
        size = _png_size(archive.read(info_png))
        assert size == (fig.layout.width * 2, fig.layout.height * 2)


@pytest.mark.parametrize("width", [1440, 800])
def test_main_page_screenshot(page: Page, app_url: str, width: int) -> None:
    """A full-page picture of the main page at a desktop and a narrow width, to look at."""
    page.set_viewport_size({"width": width, "height": 900})
    _open_main(page, app_url)
    height = page.evaluate(
        """() => Math.max(...['stMain', 'stSidebarContent', 'stSidebar']
            .map(id => document.querySelector(`[data-testid="${id}"]`))
            .filter(Boolean).map(el => el.scrollHeight), 600)"""
    )
    page.set_viewport_size({"width": width, "height": int(height) + 40})
    wait_for_viewport(page, int(height) + 40)
    settle(page)
    for key in MAIN_CHARTS:  # every chart drawn at this width, title and subtitle included
        chart = page.locator(f".st-key-{key} .js-plotly-plot")
        expect(chart.locator(".gtitle")).to_have_count(1)
        expect(chart.locator(".gtitle-subtitle")).to_contain_text("m = 0.50 · greedy")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"main_charts_{width}px.png"
    page.screenshot(path=path, full_page=True)
    assert _png_size(path.read_bytes())[0] == width
