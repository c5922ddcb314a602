"""The live Budget explorer in a real browser: the views follow the thumb while it is dragged,
before anything goes to the server, and the page settles on what the server computes.

Not timings (benchmarks/bench_browser.py measures them): what is drawn, when, and from where.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_page import SCREENSHOTS, WAIT_MS, Page, download, expect, rerun, sync_api
from PIL import Image, ImageChops
from support import cli_config

import mpq_core as mc
from mpq_core.report.display import gbops

pytestmark = pytest.mark.browser

VIEWS = ("cards", "heatmap", "distribution", "budget_use", "budget_curve", "slack")
CHARTS = VIEWS[1:]
PICTURES_READY = """() => [...__mpqLive.groups.values()].every(group =>
    [...group.views.values()].every(view =>
        !view.pictures || view.pictures.size === view.spec.grid.length))"""
ALL_DRAWN = """(views) => views.every(key => {
    const host = document.querySelector(`.st-key-${key} .mpq-live`);
    return host && host.dataset.liveValue !== undefined
        && (key === 'cards' || host.querySelector('.main-svg'));
})"""


def _problem() -> mc.Problem:
    return mc.load_problem(*mc.sample_inputs())


def _open(page: Page, url: str) -> None:
    with rerun(page):
        page.goto(url)
    page.wait_for_function(ALL_DRAWN, arg=list(VIEWS), timeout=WAIT_MS)


def _view(page: Page, key: str) -> sync_api.Locator:
    return page.locator(f".st-key-{key} .mpq-live")


def _drawn(page: Page, key: str) -> str | None:
    """The budget a live view last drew (set once Plotly has drawn it)."""
    return _view(page, key).get_attribute("data-live-value")


def _card(page: Page, label: str) -> str:
    card = page.locator(".st-key-cards .mpq-card").filter(
        has=page.locator(".mpq-card-label-text").get_by_text(label, exact=True)
    )
    return card.locator(".mpq-card-value").inner_text().strip()


def _heatmap_image(page: Page) -> str:
    """The heatmap's cells as plotly drew them (one raster image)."""
    return _view(page, "heatmap").locator("image").first.get_attribute("href") or ""


def _slider(page: Page) -> sync_api.Locator:
    return page.get_by_role("slider", name="Budget multiplier")


def _slider_value(page: Page) -> float:
    return float(_slider(page).get_attribute("aria-valuetext"))


def _expect_settled(page: Page, multiplier: float) -> None:
    """Every view drew ``multiplier``; the server's controls and the link say the same (call
    it once the run of the change has finished: ``with rerun(page): <the change>``)."""
    for key in VIEWS:
        expect(_view(page, key)).to_have_attribute("data-live-value", f"{multiplier:g}")
    expect(page.locator(".st-key-budget_text input")).to_have_value(f"{multiplier:.2f}")
    page.wait_for_function(
        "m => new URLSearchParams(location.search).get('budget') === m",
        arg=f"{multiplier:g}",
        timeout=WAIT_MS,
    )
    solution = mc.solve(_problem(), multiplier)
    assert _card(page, "Budget") == gbops(solution.budget)


def _screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_dragging_redraws_the_heatmap_before_release_and_the_download_is_the_cli_config(
    page: Page, app_url: str, tmp_path: Path
) -> None:
    requests: list[str] = []
    sent: list[int] = []  # websocket frames to the server
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    _open(page, app_url)
    assert _drawn(page, "heatmap") == "0.5"
    image, subtitle = (
        _heatmap_image(page),
        _view(page, "heatmap").locator("text", has_text="m = 0.50"),
    )
    expect(subtitle).to_have_count(1)

    thumb = page.locator(".st-key-budget [data-testid=stSliderThumbValue]").locator("..")
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    before = len(sent)
    page.mouse.move(x - 140, y, steps=14)
    # the mouse is still down: the views follow the thumb, and nothing went to the server
    page.wait_for_function(
        """() => {
            const drawn = document.querySelector('.st-key-heatmap .mpq-live').dataset.liveValue;
            const thumb = document.querySelector('.st-key-budget input[type="range"]').value;
            return drawn !== '0.5' && Number(drawn) === Number(thumb);
        }""",
        timeout=WAIT_MS,
    )
    dragged = float(_drawn(page, "heatmap"))
    assert dragged < 0.5
    assert _slider_value(page) == pytest.approx(dragged)
    assert _heatmap_image(page) != image  # the cells themselves were drawn again
    expect(_view(page, "heatmap").locator("text", has_text=f"m = {dragged:.2f}")).to_have_count(1)
    expect(page.locator(".st-key-cards .mpq-card-pill").first).to_have_text(f"m = {dragged:.2f}")
    assert len(sent) == before, "the drag asked the server"
    _screenshot(page, "live_1440_while_dragging")
    with rerun(page):  # released: the slider sends its value
        page.mouse.up()

    released = round(_slider_value(page), 2)
    _expect_settled(page, released)
    solution = mc.solve(_problem(), released)
    assert _card(page, "Final cost") == gbops(solution.cost)
    saved = download(page, page.locator(".st-key-download_config button"), tmp_path)
    assert saved.name == mc.config_filename(released)
    body = saved.read_text(encoding="utf-8")
    assert body == mc.config_json(mc.export_config(solution))
    assert json.loads(body) == cli_config(tmp_path, released)

    # offline: every script, font, icon and data request went to this server (or stayed in
    # the page: the blob Plotly.js runs from)
    elsewhere = [
        url
        for url in requests
        if urlparse(url).hostname != "127.0.0.1" and not url.startswith(("blob:", "data:"))
    ]
    assert not elsewhere, elsewhere
    assert any(url.startswith("blob:") for url in requests)  # Plotly.js, from the page itself


def _drag_and_compare(page: Page, to_x: float, shot: str) -> float:
    """Drag the thumb to ``to_x``; while the mouse is down every chart shows the picture of
    the step under the thumb; on release each chart draws that step itself and looks pixel
    for pixel as its picture did. Returns the step."""
    thumb = page.locator(".st-key-budget [data-testid=stSliderThumbValue]").locator("..")
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(to_x, y, steps=10)
    page.wait_for_function(
        """(charts) => {
            const thumb = document.querySelector('.st-key-budget input[type="range"]');
            return charts.every(key => {
                const host = document.querySelector(`.st-key-${key} .mpq-live`);
                return host.dataset.livePicture !== undefined
                    && Number(host.dataset.liveValue) === Number(thumb.value);
            });
        }""",
        arg=list(CHARTS),
        timeout=WAIT_MS,
    )
    value = round(_slider_value(page), 2)
    for key in CHARTS:  # the picture is of the step under the thumb
        picture = _view(page, key).locator(".mpq-live-picture")
        expect(picture.locator("text", has_text=f"m = {value:.2f}")).not_to_have_count(0)
        expect(_view(page, key).locator(".mpq-live-plot")).to_be_hidden()
    pictures = {key: _view(page, key).screenshot() for key in CHARTS}
    _screenshot(page, shot)
    with rerun(page):
        page.mouse.up()

    _expect_settled(page, value)
    page.wait_for_function(
        "() => !document.querySelector('.mpq-live[data-live-picture]')", timeout=WAIT_MS
    )
    for key in CHARTS:
        expect(_view(page, key).locator(".mpq-live-picture")).to_be_empty()
        drawn = _view(page, key).screenshot()
        difference = ImageChops.difference(
            Image.open(io.BytesIO(pictures[key])).convert("RGB"),
            Image.open(io.BytesIO(drawn)).convert("RGB"),
        )
        assert difference.getbbox() is None, f"{key} at {value}: the chart differs from its picture"
    return value


def test_a_drag_shows_the_pictures_of_the_steps_and_they_look_as_the_charts_do(
    browser: sync_api.Browser, app_url: str
) -> None:
    """Every chart on screen. The pictures of a drag come from the easel (prepared while the
    page was idle) or, for a step the chart drew itself (0.50, drawn first), from the chart."""
    context = browser.new_context(viewport={"width": 1440, "height": 2600})
    try:
        page = context.new_page()
        _open(page, app_url)
        page.wait_for_function(PICTURES_READY, polling=200, timeout=WAIT_MS)
        thumb = page.locator(".st-key-budget [data-testid=stSliderThumbValue]").locator("..")
        box = thumb.bounding_box()
        start = box["x"] + box["width"] / 2
        assert _drag_and_compare(page, start - 200, "live_2600_pictures_while_dragging") < 0.5
        _screenshot(page, "live_2600_released")
        assert _drag_and_compare(page, start, "live_2600_back_at_the_start") == 0.5
    finally:
        context.close()


def test_keys_move_the_views_and_an_infeasible_step_looks_infeasible(
    page: Page, app_url: str
) -> None:
    _open(page, app_url)
    slider = _slider(page)
    slider.focus()
    steps = (("End", 1.0), ("PageDown", 0.9), ("ArrowLeft", 0.89), ("PageUp", 0.99))
    for key, expected in steps:
        with rerun(page):
            slider.press(key)
        assert _slider_value(page) == pytest.approx(expected)
        _expect_settled(page, expected)

    with rerun(page):
        slider.press("Home")  # 0: below the cheapest allocation
        heatmap = _view(page, "heatmap")
        expect(
            heatmap.locator(".annotation-text", has_text="Infeasible budget (m = 0")
        ).to_have_count(1)
        expect(page.locator(".st-key-cards .mpq-card-value").nth(1)).to_have_text("Infeasible")
        for key in ("distribution", "budget_use"):  # the same marking as the exported figures
            expect(
                _view(page, key).locator(".annotation-text", has_text="nfeasible")
            ).not_to_have_count(0)
    _expect_settled(page, 0.0)
    expect(page.get_by_test_id("stAlertContentError")).to_contain_text("Infeasible budget")
    _screenshot(page, "live_1440_infeasible")
    # the server's button to the smallest feasible budget moves the slider and the views
    least = mc.solve(_problem(), 0.0).min_grid_multiplier
    with rerun(page):
        page.locator(".st-key-use_min_multiplier button").click()
    _expect_settled(page, least)
    assert _card(page, "Final cost") == gbops(mc.solve(_problem(), least).cost)


def test_a_budget_between_two_steps_is_drawn_from_the_server(page: Page, app_url: str) -> None:
    _open(page, app_url)
    box = page.locator(".st-key-budget_text input")
    with rerun(page):
        box.fill("0.337")
        box.press("Enter")
    for key in VIEWS:
        expect(_view(page, key)).to_have_attribute("data-live-value", "0.337")
    assert _slider_value(page) == pytest.approx(0.34)
    expect(_view(page, "heatmap").locator("text", has_text="m = 0.337")).to_have_count(1)
    problem = _problem()
    assert _card(page, "Budget") == gbops(problem.budget_for(0.337))
    assert _card(page, "Final cost") == gbops(mc.solve(problem, 0.337).cost)
    assert parse_qs(urlparse(page.url).query)["budget"] == ["0.337"]
    # a step of the slider leaves the typed budget for the grid again
    _slider(page).focus()
    with rerun(page):
        _slider(page).press("ArrowRight")
    _expect_settled(page, 0.35)


def test_the_live_view_at_800_px(browser: sync_api.Browser, app_url: str) -> None:
    context = browser.new_context(viewport={"width": 800, "height": 900})
    try:
        page = context.new_page()
        _open(page, app_url)
        slider = _slider(page)
        slider.focus()
        with rerun(page):
            slider.press("ArrowLeft")
        _expect_settled(page, 0.49)
        widths = page.evaluate(
            """() => [...document.querySelectorAll('.mpq-live')].map(
                host => [host.clientWidth, host.scrollWidth])"""
        )
        assert all(scroll <= width + 1 for width, scroll in widths), widths  # nothing cut
        _screenshot(page, "live_800")
    finally:
        context.close()


def test_sidebar_choices_survive_a_slider_step_and_a_page_switch(page: Page, app_url: str) -> None:
    """Regression: a slider step reruns only the budget fragment; the next page then fell
    back to the greedy solver (the sidebar's keys were not re-assigned in that run)."""
    _open(page, app_url)
    sidebar = page.get_by_test_id("stSidebar")
    exact = sidebar.get_by_role("radio", name="Exact optimum (proven, with its bound)")
    with rerun(page):
        sidebar.get_by_text("Exact optimum").click()
    expect(page.locator(".st-key-cards .mpq-card-label-text", has_text="Greedy gap")).to_have_count(
        1
    )
    _slider(page).focus()
    with rerun(page):
        _slider(page).press("ArrowRight")
    expect(page.locator(".st-key-budget_text input")).to_have_value("0.51")
    with rerun(page):
        sidebar.get_by_role("link", name="Layers").click()
    expect(page.get_by_role("heading", level=1).first).to_have_text("Layers")
    expect(exact).to_be_checked()
    assert parse_qs(urlparse(page.url).query)["solver"] == ["exact"]
    with rerun(page):
        sidebar.get_by_role("link", name="Budget explorer").click()
    page.wait_for_function(ALL_DRAWN, arg=list(VIEWS), timeout=WAIT_MS)
    expect(page.locator(".st-key-cards .mpq-card-label-text", has_text="Greedy gap")).to_have_count(
        1
    )
    expect(_view(page, "heatmap").locator("text", has_text="m = 0.51 · exact")).to_have_count(1)
