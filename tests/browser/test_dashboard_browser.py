"""The dashboard in a real browser (Chromium via Playwright) on the bundled sample."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import mpq_core as mc
from mpq_core.display import gbops

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install -r requirements-dev.txt)",
)
expect = sync_api.expect
Page = sync_api.Page
expect.set_options(timeout=30_000)  # a rerun on a loaded CI machine may take a while

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHART_KEYS = ("heatmap", "distribution", "budget_use", "budget_curve", "slack")
IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)
WAIT_MS = 60_000
PLOT = ".js-plotly-plot .main-svg"
TABLE = '[data-testid="stDataFrame"] canvas'
# url path, title, screenshot name, what the page must draw
PAGES = [
    ("", "Budget explorer", "1_budget_explorer", PLOT),
    ("Compare_budgets", "Compare budgets", "2_compare_budgets", PLOT),
    ("Layers", "Layers", "3_layers", TABLE),
    ("Greedy_vs_optimal", "Greedy vs optimal", "4_greedy_vs_optimal", PLOT),
    ("Data", "Data", "5_data", TABLE),
]
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'


@cache
def _problem() -> mc.Problem:
    return mc.load_problem(*mc.sample_inputs())


def _wait_idle(page: Page) -> None:
    """Wait until the script run that a just-made change triggered has finished."""
    page.wait_for_timeout(250)  # let a just-triggered rerun start first
    page.wait_for_selector(IDLE, timeout=WAIT_MS)


def _open(page: Page, url: str, min_charts: int = 0) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    if min_charts:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=min_charts,
            timeout=WAIT_MS,
        )
    _wait_idle(page)


def _assert_no_error(page: Page) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, errors.all_inner_texts()


def _metric_value(page: Page, label: str) -> sync_api.Locator:
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return metric.get_by_test_id("stMetricValue")


def _metric(page: Page, label: str) -> str:
    return _metric_value(page, label).inner_text().strip()


def _budget_use(page: Page) -> sync_api.Locator:
    """The budget-use chart's summary line, as drawn in the SVG."""
    return page.locator(".st-key-budget_use .annotation-text").first


def _expected_cost(multiplier: float) -> str:
    solution = mc.solve(_problem(), multiplier)
    return f"{solution.cost / mc.GIGA:,.1f} GBOPs"


def _slider_value(page: Page) -> float:
    slider = page.get_by_role("slider", name="Budget multiplier")
    return float(slider.get_attribute("aria-valuetext"))


def _move_slider(page: Page, key: str, times: int = 1) -> float:
    slider = page.get_by_role("slider", name="Budget multiplier")
    slider.focus()
    for _ in range(times):
        slider.press(key)
    _wait_idle(page)
    return round(_slider_value(page), 2)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """A fresh screenshot folder: no stale picture of a page that no longer exists."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


def _full_screenshot(page: Page, folder: Path, name: str) -> Path:
    """The whole page: it scrolls inside stMain, so grow the viewport to its height first."""
    height = page.evaluate(
        """() => Math.max(...['stMain', 'stSidebarContent', 'stSidebar']
            .map(id => document.querySelector(`[data-testid="${id}"]`))
            .filter(Boolean).map(el => el.scrollHeight), 600)"""
    )
    page.set_viewport_size({"width": 1400, "height": int(height) + 40})
    page.wait_for_timeout(300)
    _wait_idle(page)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def test_main_page_draws_every_chart(page: Page, app_url: str) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    _assert_no_error(page)
    assert page.locator(".js-plotly-plot").count() >= len(CHART_KEYS)
    for key in CHART_KEYS:
        chart = page.locator(f".st-key-{key} .js-plotly-plot")
        expect(chart).to_have_count(1)
        expect(chart.locator(".main-svg").first).to_be_visible()
    # the default view is the sample at 0.50
    assert _slider_value(page) == pytest.approx(0.50)
    assert _metric(page, "Final cost") == _expected_cost(0.50)
    expect(page.get_by_text("synthetic").first).to_be_visible()


def _expected_unused(multiplier: float) -> str:
    """The budget-use chart names the unused budget first: '49.6 GBOPs unused (...'."""
    solution = mc.solve(_problem(), multiplier)
    return f"{gbops(solution.budget - solution.cost)} unused"


def _expect_view(page: Page, multiplier: float) -> None:
    """Budget-use chart and headline cost show what mpq_core computes for ``multiplier``."""
    expect(_metric_value(page, "Final cost")).to_have_text(_expected_cost(multiplier))
    expect(_budget_use(page)).to_contain_text(_expected_unused(multiplier))


def test_keyboard_slider_moves_budget_use_and_headline_cost(page: Page, app_url: str) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    assert _slider_value(page) == pytest.approx(0.50)
    _expect_view(page, 0.50)
    # On the sample 11.2, 49.6 and 121.5 GBOPs stay unused at 0.49, 0.50 and 0.51, so each
    # move below changes both the chart and the cost.
    for key, times, target in (("ArrowRight", 1, 0.51), ("ArrowLeft", 2, 0.49)):
        before = _budget_use(page).text_content(), _metric(page, "Final cost")
        assert _move_slider(page, key, times=times) == pytest.approx(target)
        _expect_view(page, target)
        after = _budget_use(page).text_content(), _metric(page, "Final cost")
        assert after[0] != before[0]
        assert after[1] != before[1]
    _assert_no_error(page)


def test_download_config_equals_the_cli_config(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    multiplier = _move_slider(page, "ArrowRight", times=2)
    expect(_metric_value(page, "Final cost")).to_have_text(_expected_cost(multiplier))
    button = page.locator(".st-key-download_config button")
    expect(button).to_contain_text("Download config (JSON)")
    with page.expect_download(timeout=WAIT_MS) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == mc.config_filename(multiplier)
    saved = tmp_path / "download.json"
    download.save_as(saved)
    body = saved.read_text(encoding="utf-8")
    assert body == mc.config_json(mc.export_config(mc.solve(_problem(), multiplier)))

    cwd = tmp_path / "cli"
    cwd.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "main.py"),
            "--optimize_mixed_precision",
            "--budget_multiplier",
            f"{multiplier:.2f}",
            "--output_dir",
            "out",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    cli_files = list((cwd / "out").rglob(mc.config_filename(multiplier)))
    assert len(cli_files) == 1, list((cwd / "out").rglob("*"))
    assert json.loads(body) == json.loads(cli_files[0].read_text(encoding="utf-8"))


def test_download_report_saves_the_html_report(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    multiplier = _move_slider(page, "ArrowLeft", times=1)
    expect(_metric_value(page, "Final cost")).to_have_text(_expected_cost(multiplier))
    button = page.locator(".st-key-download_report button")
    expect(button).to_contain_text("Download report (HTML)")
    with page.expect_download(timeout=WAIT_MS) as info:
        button.click()
    download = info.value
    assert download.suggested_filename == f"mpq_report_{multiplier:.2f}.html"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    body = saved.read_text(encoding="utf-8")
    assert "plotly" in body.lower() and "conv_in" in body
    assert _expected_cost(multiplier) in body  # the headline figure of this budget
    _assert_no_error(page)


@pytest.mark.parametrize(("path", "title", "name", "drawn"), PAGES, ids=[p[2] for p in PAGES])
def test_every_page_opens_draws_and_is_screenshotted(
    page: Page, app_url: str, screenshots: Path, path: str, title: str, name: str, drawn: str
) -> None:
    _open(page, f"{app_url}/{path}")
    expect(page.get_by_role("heading", level=1).first).to_have_text(title)
    page.wait_for_selector(drawn, timeout=WAIT_MS)
    # every plotly chart on the page has drawn its SVG
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
            .every(el => el.querySelector('.main-svg'))""",
        timeout=WAIT_MS,
    )
    _wait_idle(page)
    _assert_no_error(page)
    shot = _full_screenshot(page, screenshots, name)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _assert_no_error(page)
