"""Several limits in a real browser: two sliders whose views follow either thumb before it is
released, the use of each limit, the trade-off map, at 1440 and 800 px, with screenshots in
artifacts/screenshots/ (looked at after each run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_page import (
    ERRORS,
    SCREENSHOTS,
    Page,
    drag_thumb,
    expect,
    release_thumb,
    rerun,
    settle,
    sync_api,
    wait_for_viewport,
)

pytestmark = pytest.mark.browser

LINK = "?budget=0.4&limit=mean_wbits%3C%3D6&group=content:*.attn2.*|*.ff.*"


WAIT_MS = 90_000  # several limits: each run solves more


def _open(page: Page, url: str) -> None:
    with rerun(page, WAIT_MS):
        page.goto(url)
    page.wait_for_selector(".st-key-tradeoff_map .js-plotly-plot .main-svg", timeout=WAIT_MS)
    settle(page, WAIT_MS)  # and any run the drawn page asked for


def _metric_value(page: Page, label: str) -> sync_api.Locator:
    """A live card's value (the cards follow the sliders in the browser, ``ui.live``)."""
    card = page.locator(".mpq-card").filter(
        has=page.locator(".mpq-card-label-text").get_by_text(label, exact=True)
    )
    return card.locator(".mpq-card-value")


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
        with rerun(page, WAIT_MS):  # the views redraw at once, the server then solves anew
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


def test_either_slider_of_two_limits_moves_the_views_before_release(
    page: Page, app_url: str
) -> None:
    """With the budget and a mean-bits cap, the cards and charts follow a drag of either
    thumb in the browser (the steps of each slider solved with the other held); on release
    the server solves the other slider's steps again and the link takes the value."""
    sent: list[int] = []  # websocket frames to the server
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    _open(page, f"{app_url}/{LINK}")
    heatmap = page.locator(".st-key-heatmap .mpq-live")
    before = _metric(page, "Mean weight bits")

    held = drag_thumb(page, "limit_slider_1", -90, sent, WAIT_MS)  # the mean-bits cap, down
    assert held < 6
    expect(_metric_value(page, "Mean weight bits")).not_to_have_text(before)
    assert float(_metric(page, "Mean weight bits").split()[0]) <= held + 1e-9
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "limits_1440_dragging_mean_wbits.png")
    release_thumb(page, "limit", f"mean_wbits<={held:g}", WAIT_MS)

    budget = drag_thumb(
        page, "budget", 120, sent, WAIT_MS
    )  # the budget, up: the views follow it again
    assert budget > 0.4
    assert float(_metric(page, "Mean weight bits").split()[0]) <= held + 1e-9
    release_thumb(page, "budget", f"{budget:g}", WAIT_MS)
    expect(heatmap).to_have_attribute("data-live-value", f"{budget:g}")
