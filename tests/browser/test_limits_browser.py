"""Several limits in a real browser: two sliders, the use of each limit, the trade-off map,
at 1440 and 800 px, with screenshots in artifacts/screenshots/ (looked at after each run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_page import SCREENSHOTS, Page, expect, rerun, settle, sync_api, wait_for_viewport

pytestmark = pytest.mark.browser

ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
LINK = "?budget=0.4&limit=mean_wbits%3C%3D6&group=content:*.attn2.*|*.ff.*"


WAIT_MS = 90_000  # several limits: each run solves more


def _open(page: Page, url: str) -> None:
    with rerun(page, WAIT_MS):
        page.goto(url)
    page.wait_for_selector(".st-key-tradeoff_map .js-plotly-plot .main-svg", timeout=WAIT_MS)
    settle(page, WAIT_MS)  # and any run the drawn page asked for


def _metric_value(page: Page, label: str) -> sync_api.Locator:
    metric = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    )
    return metric.get_by_test_id("stMetricValue")


def _metric(page: Page, label: str) -> str:
    return _metric_value(page, label).inner_text().strip()


def _shot(page: Page, name: str, width: int) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(height, 600), 8000)})
    wait_for_viewport(page, min(max(height, 600), 8000))
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.mark.parametrize("width", [1440, 800])
def test_two_limits_two_sliders_and_the_trade_off_map(
    browser: sync_api.Browser, app_url: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        _open(page, f"{app_url}/{LINK}")
        assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
        budget = page.get_by_role("slider", name="Budget multiplier")
        mean = page.get_by_role("slider", name="mean_wbits (absolute)")
        assert float(budget.get_attribute("aria-valuetext")) == 0.4
        assert float(mean.get_attribute("aria-valuetext")) == 6
        assert float(_metric(page, "Mean weight bits").split()[0]) <= 6.0
        # every limit's use is drawn; the map of the two limits with the current setting
        expect(page.locator(".st-key-limits_use .js-plotly-plot")).to_have_count(1)
        expect(page.locator(".st-key-groups .js-plotly-plot")).to_have_count(1)
        heat = page.locator(".st-key-tradeoff_map .js-plotly-plot .heatmaplayer")
        expect(heat.first).to_be_visible()
        _shot(page, f"limits_{width}", width)

        # one keyboard step down on the mean-bits slider: a tighter cap, never exceeded
        before = _metric(page, "Mean weight bits")
        mean.focus()
        with rerun(page, WAIT_MS):  # the server draws each committed value
            mean.press("PageDown")
        value = float(
            page.get_by_role("slider", name="mean_wbits (absolute)").get_attribute("aria-valuetext")
        )
        assert value < 6
        expect(_metric_value(page, "Mean weight bits")).not_to_have_text(before)
        after = float(_metric(page, "Mean weight bits").split()[0])
        assert after <= value + 1e-9
        assert _metric(page, "Mean weight bits") != before
        assert "mean_wbits%3C%3D" in page.url or "mean_wbits<=" in page.url
    finally:
        context.close()
