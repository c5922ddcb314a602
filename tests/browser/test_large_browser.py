"""The synthetic 100,000-layer MoE in a real browser: the heatmap of module kinds x blocks, a
block opened, both following a drag before release, at 1440 and 800 px, with screenshots in
artifacts/screenshots/ (looked at after each run)."""

from __future__ import annotations

import pytest
from browser_page import (
    ERRORS,
    SCREENSHOTS,
    Page,
    drag_thumb,
    expect,
    full_screenshot,
    release_thumb,
    rerun,
    settle,
)

pytestmark = pytest.mark.browser

LINK = "?source=moe_100k&budget=0.3"
WAIT_MS = 240_000  # the first open reads 100,000 layers and solves 101 budgets


def _open(page: Page, url: str) -> None:
    with rerun(page, WAIT_MS):
        page.goto(f"{url}/{LINK}")
    page.wait_for_selector(".st-key-heatmap .mpq-live .main-svg", timeout=WAIT_MS)
    settle(page, WAIT_MS)
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()


def _open_block(page: Page, block: str) -> None:
    picker = page.locator(".st-key-open_block")
    with rerun(page, WAIT_MS):
        picker.click()
        page.get_by_role("option", name=block, exact=True).click()
    page.wait_for_selector(".st-key-block_detail .mpq-live .main-svg", timeout=WAIT_MS)
    settle(page, WAIT_MS)


@pytest.mark.parametrize("width", [1440, 800])
def test_the_large_model_s_heatmap_and_an_opened_block(page: Page, app_url: str, width) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    _open(page, app_url)
    heatmap = page.locator(".st-key-heatmap")
    expect(heatmap.locator(".gtitle")).to_have_text("Mean weight bits per module, by block")
    expect(heatmap.locator(".ytick")).to_have_count(7)  # q, k, v, o, gate, up, down
    expect(heatmap.locator(".colorbar")).to_have_count(1)
    _open_block(page, "model.layers.7")
    detail = page.locator(".st-key-block_detail")
    expect(detail.locator(".gtitle")).to_have_text("Block model.layers.7: 1,000 layers")
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
    full_screenshot(page, SCREENSHOTS, f"large_{width}", width)


def test_the_map_and_the_block_follow_a_drag_before_release(page: Page, app_url: str) -> None:
    sent: list[int] = []  # websocket frames to the server
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    page.set_viewport_size({"width": 1440, "height": 1600})
    _open(page, app_url)
    _open_block(page, "model.layers.7")
    detail = page.locator(".st-key-block_detail .mpq-live")
    before = detail.get_attribute("data-live-value")
    held = drag_thumb(page, "budget", 150, sent, WAIT_MS)
    assert held > 0.3
    expect(detail).to_have_attribute("data-live-value", f"{held:g}")
    assert detail.get_attribute("data-live-value") != before
    page.screenshot(path=SCREENSHOTS / "large_1440_dragging.png")
    release_thumb(page, "budget", f"{held:g}", WAIT_MS)
    expect(page.locator(".st-key-heatmap .mpq-live")).to_have_attribute(
        "data-live-value", f"{held:g}"
    )
