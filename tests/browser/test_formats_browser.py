"""The per-format sample in a real browser: the Formats pills, the bpw limit, the heatmap's
format legend, the effective-bits card and the link, at 1440 and 800 px, with screenshots in
artifacts/screenshots/ (looked at after each run)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlparse

import pytest
from browser_page import (
    ERRORS,
    SCREENSHOTS,
    TWO_FRAMES,
    WAIT_MS,
    Page,
    expect,
    full_screenshot,
    rerun,
    settle,
    sync_api,
)

pytestmark = pytest.mark.browser

LINK = "?source=minilm_formats"
# the sample's chosen formats, cheapest first (as the link lists them)
FORMATS = ["int4_g128", "mxfp4", "nvfp4", "int4_g32", "fp8", "int8", "bf16"]
CHARTS = ("heatmap", "distribution")
BPW = "bpw (absolute)"


def _open(page: Page, url: str) -> None:
    with rerun(page):
        page.goto(url)
    for key in CHARTS:
        page.wait_for_selector(f".st-key-{key} .js-plotly-plot .main-svg", timeout=WAIT_MS)
    settle(page)  # and any run the drawn page asked for


def _assert_no_error(page: Page) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, errors.all_inner_texts()


def _query(page: Page, key: str) -> str:
    """The link's ``key`` once the app has written it (unquoted: "bpw<=5", "a,b")."""
    page.wait_for_function(
        "k => new URLSearchParams(location.search).has(k)", arg=key, timeout=WAIT_MS
    )
    return parse_qs(urlparse(unquote(page.url)).query)[key][0]


def _metric_value(page: Page, label: str) -> sync_api.Locator:
    """A live card's value (the bpw slider is the page's one limit: its cards are drawn in
    the browser at every step, ``ui.live``)."""
    card = page.locator(".mpq-card").filter(
        has=page.locator(".mpq-card-label-text").get_by_text(label, exact=True)
    )
    return card.locator(".mpq-card-value")


def _bits(page: Page) -> float:
    """The "Effective bits" card's number ("4.99 bits" -> 4.99)."""
    return float(_metric_value(page, "Effective bits").inner_text().strip().split()[0])


def _legend(page: Page) -> sync_api.Locator:
    return page.locator(".st-key-heatmap .js-plotly-plot .legend")


def _bpw(page: Page) -> sync_api.Locator:
    return page.get_by_test_id("stMain").get_by_role("slider", name=BPW)


@pytest.mark.parametrize("width", [1440, 800])
def test_the_formats_sample_draws_its_formats_cards_and_link(
    browser: sync_api.Browser, app_url: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        _open(page, f"{app_url}/{LINK}")
        _assert_no_error(page)
        for key in CHARTS:
            chart = page.locator(f".st-key-{key} .js-plotly-plot")
            expect(chart).to_have_count(1)
            expect(chart.locator(".main-svg").first).to_be_visible()
        expect(page.locator(".st-key-heatmap .gtitle")).to_have_text("Format per layer, by block")
        expect(page.locator(".st-key-distribution .gtitle")).to_have_text("Format distribution")
        expect(_legend(page)).to_contain_text("nvfp4 (W4 · A4)")
        expect(_legend(page)).to_contain_text("bf16 (W16 · A16)")
        expect(_metric_value(page, "Effective bits")).to_have_text(re.compile(r"^\d+\.\d+ bits$"))
        expect(_metric_value(page, "Weight memory")).to_contain_text("MiB")
        assert _bits(page) <= 5 + 1e-9  # the sample's first limit, bpw<=5
        assert float(_bpw(page).get_attribute("aria-valuetext")) == 5
        assert _query(page, "formats") == ",".join(FORMATS)
        assert _query(page, "limit") == "bpw<=5"
        assert "formats=int4_g128,mxfp4" in unquote(page.url)
        shot = full_screenshot(page, SCREENSHOTS, f"formats_{width}", width)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        _assert_no_error(page)
    finally:
        context.close()


def test_deselecting_a_format_pill_drops_it_from_the_link_and_the_legend(
    page: Page, app_url: str
) -> None:
    _open(page, f"{app_url}/{LINK}")
    expect(_legend(page)).to_contain_text("mxfp4 (W4 · A4)")
    assert _query(page, "formats") == ",".join(FORMATS)
    pills = page.get_by_test_id("stSidebar").locator(".st-key-formats")
    pill = pills.get_by_role("button", name="mxfp4", exact=True)
    expect(pill).to_have_attribute("aria-pressed", "true")
    with rerun(page):
        pill.click()
    expect(pill).to_have_attribute("aria-pressed", "false")
    page.wait_for_function(
        "() => !new URLSearchParams(location.search).get('formats').split(',').includes('mxfp4')",
        timeout=WAIT_MS,
    )
    assert _query(page, "formats") == ",".join(f for f in FORMATS if f != "mxfp4")
    expect(_legend(page)).not_to_contain_text("mxfp4 (W4 · A4)")
    expect(_legend(page)).to_contain_text("nvfp4 (W4 · A4)")
    _assert_no_error(page)


def test_keyboard_steps_on_the_bpw_slider_raise_the_limit_and_the_bits_stay_under_it(
    page: Page, app_url: str
) -> None:
    _open(page, f"{app_url}/{LINK}")
    assert _query(page, "limit") == "bpw<=5"
    before = _metric_value(page, "Effective bits").inner_text().strip()
    value = 5.0
    for _ in range(2):
        settle(page)  # keys pressed while a run is on its way are another test's matter
        slider = _bpw(page)
        slider.focus()
        with rerun(page):  # the slider sends its value once the keys stop
            slider.press("ArrowRight")
        moved = float(_bpw(page).get_attribute("aria-valuetext"))
        assert moved > value
        value = moved
        # before the next key, the server has taken the value (its link shows it)
        page.wait_for_function(
            "v => new URLSearchParams(location.search).get('limit') === v",
            arg=f"bpw<={value:g}",
            timeout=WAIT_MS,
        )
    limit = float(_query(page, "limit").removeprefix("bpw<="))
    assert limit == pytest.approx(value) and limit > 5
    expect(_metric_value(page, "Effective bits")).not_to_have_text(before)
    assert _bits(page) <= limit + 1e-9
    _assert_no_error(page)


def test_dragging_the_bpw_thumb_redraws_the_views_before_release(page: Page, app_url: str) -> None:
    """The page's one limit is bpw, not the BOPs budget: its views follow the thumb in the
    browser all the same, and nothing goes to the server until the mouse is released."""
    sent: list[int] = []  # websocket frames to the server
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(len(payload))))
    _open(page, f"{app_url}/{LINK}")
    heatmap = page.locator(".st-key-heatmap .mpq-live")
    expect(heatmap).to_have_attribute("data-live-value", "5")
    before_bits = _bits(page)
    thumb = page.locator(".st-key-limit_slider_0 [data-testid=stSliderThumbValue]").locator("..")
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    frames = len(sent)
    page.mouse.move(x + 120, y, steps=12)
    page.wait_for_function(
        """() => {
            const drawn = document.querySelector('.st-key-heatmap .mpq-live').dataset.liveValue;
            const thumb = document.querySelector('.st-key-limit_slider_0 input[type="range"]');
            return drawn !== '5' && Number(drawn) === Number(thumb.value);
        }""",
        timeout=WAIT_MS,
    )
    dragged = float(heatmap.get_attribute("data-live-value"))
    assert dragged > 5
    expect(page.locator(".st-key-weights .mpq-card-value").first).not_to_have_text(
        f"{before_bits:.2f} bits"
    )
    assert before_bits < _bits(page) <= dragged + 1e-9  # the cards of the dragged step
    assert len(sent) == frames, "the drag asked the server"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "formats_1440_dragging_bpw.png")
    with rerun(page):  # released: the slider sends its value
        page.mouse.up()
    page.wait_for_function(
        "v => new URLSearchParams(location.search).get('limit') === v",
        arg=f"bpw<={dragged:g}",
        timeout=WAIT_MS,
    )
    _assert_no_error(page)


def _edit_cell(page: Page, text: str) -> None:
    """Type ``text`` into the grid's cell editor once it is open (keys typed before it opens
    are lost); the caller commits it with a key. The editor draws what it holds in a shadow
    beside its textarea: once that shows ``text`` and two frames have passed, a key that
    commits takes it (a commit right after the last key may take the cell empty)."""
    overlay = page.locator("textarea.gdg-input")
    expect(overlay).to_be_visible()
    expect(overlay).to_be_focused()
    page.keyboard.type(text)
    expect(overlay).to_have_value(text)
    expect(overlay.locator("xpath=preceding-sibling::div[1]")).to_have_text(text)
    page.evaluate(TWO_FRAMES)


def test_a_search_space_typed_into_its_table_restricts_the_layers_and_lives_in_the_link(
    page: Page, app_url: str
) -> None:
    """q, k and v of the 6 blocks (18 layers) to nvfp4 or fp8: bpw<=5 can still be met (with
    fp8 or bf16 it cannot, 5.09 bits at least), and the allocation must change (the sample's
    first one puts most of them at int4_g32): the objective falls to 0.00600414."""
    _open(page, f"{app_url}/{LINK}")
    assert "space" not in parse_qs(urlparse(page.url).query)
    objective = page.locator(".mpq-card").filter(has_text="Objective")  # and its raw value
    expect(objective).to_contain_text("0.00616966")
    sidebar = page.get_by_test_id("stSidebar")
    section = sidebar.locator("summary").filter(has_text="Groups, ties, search spaces and files")
    with rerun(page):  # the section's tables are drawn by the run its opening asks for
        section.click()
    editor = sidebar.locator("[class*='st-key-spaces_editor_']")
    grid = editor.get_by_role("grid", include_hidden=True)  # the canvas's accessible copy
    expect(grid).to_have_attribute("aria-rowcount", "2")  # the header and the "add row" row
    pattern = editor.get_by_test_id("glide-cell-1-0")
    formats = editor.get_by_test_id("glide-cell-2-0")
    # on the canvas: the header row, then the "add row" row (its first column the row
    # handles); a click on its pattern cell adds a row and opens that cell's editor (the
    # locator's click waits until the expander's table stands still; the grid's scroller
    # lies over the canvas and takes the pointer)
    table = editor.get_by_test_id("stDataFrameResizable")
    table.click(position={"x": table.bounding_box()["width"] * 0.37, "y": 36 + 17})
    expect(grid).to_have_attribute("aria-rowcount", "3")  # header, new row, "add row" row
    _edit_cell(page, "*.attention.self.*")
    page.keyboard.press("Tab")  # commits the pattern; the formats cell is selected
    expect(pattern).to_have_text("*.attention.self.*")
    expect(formats).to_have_attribute("aria-selected", "true")
    settle(page)  # a row without its formats changes nothing
    page.keyboard.press("Enter")  # opens the selected cell's editor
    _edit_cell(page, "nvfp4 fp8")
    with rerun(page):  # the filled row goes to the app
        page.keyboard.press("Enter")
    expect(formats).to_have_text("nvfp4 fp8")
    caption = sidebar.get_by_test_id("stCaptionContainer").filter(
        has_text="18 layers restricted, 0 fixed to one format"
    )
    expect(caption).to_be_visible()
    # in force in the run that took the edit: in the allocation drawn and in the link
    expect(objective).to_contain_text("0.00600414")
    assert _query(page, "space") == "*.attention.self.*:nvfp4|fp8"
    assert _query(page, "limit") == "bpw<=5"
    assert _bits(page) <= 5 + 1e-9
    expect(page.locator(".st-key-heatmap .js-plotly-plot .main-svg").first).to_be_visible()
    expect(_legend(page)).to_contain_text("nvfp4 (W4 · A4)")
    expect(_legend(page)).to_contain_text("fp8 (W8 · A8)")
    _assert_no_error(page)
    editor.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "formats_search_space.png")
