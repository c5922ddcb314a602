"""The dashboard in a real browser (Chromium via Playwright) on the bundled sample."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from browser_page import (
    ERRORS,
    SCREENSHOTS,
    WAIT_MS,
    Page,
    download,
    expect,
    full_screenshot,
    rerun,
    settle,
    sync_api,
    wait_for_requests,
)
from support import REPO, cli_config

import mpq_core as mc
from benchmarks.local_app import start_app, stop_app
from mpq_core.report.display import gbops

pytestmark = pytest.mark.browser

CHART_KEYS = ("heatmap", "distribution", "budget_use", "budget_curve", "slack")
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


@cache
def _problem() -> mc.Problem:
    return mc.load_problem(*mc.sample_inputs())


def _open(page: Page, url: str, min_charts: int = 0) -> None:
    with rerun(page):
        page.goto(url)
    if min_charts:
        page.wait_for_function(
            "n => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=min_charts,
            timeout=WAIT_MS,
        )
    settle(page)  # and any run the drawn page asked for


def _assert_no_error(page: Page) -> None:
    errors = page.locator(ERRORS)
    assert errors.count() == 0, errors.all_inner_texts()


def _metric_value(page: Page, label: str) -> sync_api.Locator:
    """The value of the headline card ``label`` (the live cards of the Budget explorer)."""
    card = page.locator(".st-key-cards .mpq-card").filter(
        has=page.locator(".mpq-card-label-text").get_by_text(label, exact=True)
    )
    return card.locator(".mpq-card-value")


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
    """``key`` pressed ``times`` times, each once the run the one before asked for is done:
    a key pressed while a value is on its way to the server can be undone by that run (the
    known race of the note on issue 23: with both presses sent together this test failed 1
    of 4 runs of the code before 2026-12-07's changes and 1 of 3 after them)."""
    slider = page.get_by_role("slider", name="Budget multiplier")
    for _ in range(times):
        settle(page)
        slider.focus()
        with rerun(page):  # the slider sends its value once the key is up
            slider.press(key)
    return round(_slider_value(page), 2)


@pytest.fixture(scope="module")
def screenshots() -> Path:
    """A fresh screenshot folder: no stale picture of a page that no longer exists."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir(parents=True)
    return SCREENSHOTS


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
        # the views follow the thumb in the browser; before the next keys, the server has
        # taken the value too (its link shows it): keys pressed while the value is still on
        # its way can be undone by that run (see the note on issue 23)
        page.wait_for_function(
            "v => new URLSearchParams(location.search).get('budget') === v",
            arg=f"{target:g}",
            timeout=WAIT_MS,
        )
    _assert_no_error(page)


def test_download_config_equals_the_cli_config(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    multiplier = _move_slider(page, "ArrowRight", times=2)
    expect(_metric_value(page, "Final cost")).to_have_text(_expected_cost(multiplier))
    button = page.locator(".st-key-download_config button")
    expect(button).to_contain_text("Download config (JSON)")
    saved = download(page, button, tmp_path)
    assert saved.name == mc.config_filename(multiplier)
    body = saved.read_text(encoding="utf-8")
    assert body == mc.config_json(mc.export_config(mc.solve(_problem(), multiplier)))

    assert json.loads(body) == cli_config(tmp_path, multiplier)


def test_download_report_saves_the_html_report(page: Page, app_url: str, tmp_path: Path) -> None:
    _open(page, app_url, min_charts=len(CHART_KEYS))
    multiplier = _move_slider(page, "ArrowLeft", times=1)
    expect(_metric_value(page, "Final cost")).to_have_text(_expected_cost(multiplier))
    button = page.locator(".st-key-download_report button")
    expect(button).to_contain_text("Download report (HTML)")
    saved = download(page, button, tmp_path)
    assert saved.name == f"mpq_report_{multiplier:.2f}.html"
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
    settle(page)
    _assert_no_error(page)
    shot = full_screenshot(page, screenshots, name)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _assert_no_error(page)


# Every cell that cuts its text ("51,40…", "P…"), every legend drawn over a title, and how far
# the main area overflows sideways.
LAYOUT_FAULTS = """() => {
  const cut = [];
  const cells = document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stMetric"] *, [data-testid="stMain"] .mpq-card *, '
    + '[data-testid="stMain"] button p, [data-testid="stMain"] h1, '
    + '[data-testid="stMain"] [data-testid="stWidgetLabel"] p');
  for (const el of cells) {
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible') {
      cut.push(`${el.textContent.slice(0, 40)} (${el.scrollWidth} > ${el.clientWidth} px)`);
    }
  }
  const covered = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const legends = [...plot.querySelectorAll('.legend')].map(e => e.getBoundingClientRect());
    const titles = plot.querySelectorAll(
      '.gtitle, .annotation-text, .g-xtitle text, .g-ytitle text');
    for (const title of titles) {
      const r = title.getBoundingClientRect();
      for (const l of legends) {
        if (l.left < r.right && r.left < l.right && l.top < r.bottom && r.top < l.bottom) {
          covered.push(title.textContent);
        }
      }
    }
  }
  const main = document.querySelector('[data-testid="stMain"]');
  return {cut, covered, overflow: main.scrollWidth - main.clientWidth};
}"""
SIDEBAR = '[data-testid="stSidebar"]'


def _open_fully(page: Page, url: str, drawn: str) -> None:
    _open(page, url)
    page.wait_for_selector(drawn, timeout=WAIT_MS)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')]
            .every(el => el.querySelector('.main-svg'))""",
        timeout=WAIT_MS,
    )
    settle(page)


@pytest.mark.parametrize(("path", "title", "name", "drawn"), PAGES, ids=[p[2] for p in PAGES])
def test_every_page_fits_an_800_px_screen(
    browser: sync_api.Browser,
    app_url: str,
    screenshots: Path,
    path: str,
    title: str,
    name: str,
    drawn: str,
) -> None:
    """Regression: at 800 px the open sidebar left cards cut ("51,40…"), titles under legends,
    squashed curves and "P…" buttons. On a first visit the sidebar starts collapsed there."""
    context = browser.new_context(viewport={"width": 800, "height": 900})
    try:
        page = context.new_page()
        _open_fully(page, f"{app_url}/{path}", drawn)
        expect(page.get_by_role("heading", level=1).first).to_have_text(title)
        expect(page.locator(SIDEBAR)).to_have_attribute("data-collapsed", "true")
        _assert_no_error(page)
        faults = page.evaluate(LAYOUT_FAULTS)
        assert faults == {"cut": [], "covered": [], "overflow": 0}
        shot = full_screenshot(page, screenshots, f"800_{name}", width=800)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        # the sidebar opens with its button, and stays open on the next page
        page.get_by_test_id("stExpandSidebarButton").click()
        expect(page.locator(SIDEBAR)).to_have_attribute("data-collapsed", "false")
        with rerun(page):
            page.goto(f"{app_url}/Data")
        page.wait_for_selector(TABLE, timeout=WAIT_MS)  # the whole page drew
        # It must STAY open: on a first visit the page's narrow-screen script collapses it
        # once, trying again every 100 ms until the sidebar's button is there (it is by
        # now). Two of those tries is the time given to a collapse that must not come.
        page.wait_for_timeout(200)
        expect(page.locator(SIDEBAR)).to_have_attribute("data-collapsed", "false")
    finally:
        context.close()


@pytest.mark.parametrize("width", [1440, 800])
@pytest.mark.parametrize("query", ["solver=exact", "budget=0.05&solver=exact"])
def test_the_main_page_cuts_nothing_feasible_or_not(
    browser: sync_api.Browser, app_url: str, width: int, query: str
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        _open_fully(page, f"{app_url}/?{query}", PLOT)
        collapsed = "true" if width < 1100 else "false"
        expect(page.locator(SIDEBAR)).to_have_attribute("data-collapsed", collapsed)
        assert page.evaluate(LAYOUT_FAULTS) == {"cut": [], "covered": [], "overflow": 0}
    finally:
        context.close()


def test_a_link_to_a_page_opens_it_and_its_settings_go_along(page: Page, app_url: str) -> None:
    """A shared link to another page opens that page with the link's settings, under its own
    tab title, and the sidebar's link to the Budget explorer takes them to the app's root."""
    _open_fully(page, f"{app_url}/Compare_budgets?budget=0.4&solver=exact", PLOT)
    expect(page.get_by_role("heading", level=1).first).to_have_text("Compare budgets")
    expect(page).to_have_title("Compare budgets · mpq")
    query = parse_qs(urlparse(page.url).query)
    assert (query["budget"], query["solver"]) == (["0.4"], ["exact"])
    with rerun(page):
        page.get_by_test_id("stSidebar").get_by_role("link", name="Budget explorer").click()
    expect(page.get_by_role("heading", level=1).first).to_have_text("Budget explorer")
    expect(page).to_have_title("Budget explorer · mpq")
    expect(page.locator(".st-key-budget_text input")).to_have_value("0.40")
    link = urlparse(page.url)
    assert link.path == "/"
    assert (parse_qs(link.query)["budget"], parse_qs(link.query)["solver"]) == (["0.4"], ["exact"])
    _assert_no_error(page)


def test_a_new_server_opened_at_another_page_routes_it_too(browser: sync_api.Browser) -> None:
    """Regression: with the page files in a pages/ folder beside dashboard.py, the first run
    of a new server, opened at /Compare_budgets, ran that page without dashboard.py: Streamlit's
    own page list appeared ("dashboard" first) and the Budget explorer's link went to
    /Budget_explorer."""
    process, url = start_app(REPO / "artifacts" / "streamlit-new-server.log")
    context = browser.new_context()
    try:
        page = context.new_page()
        _open_fully(page, f"{url}/Compare_budgets?budget=0.4", PLOT)
        expect(page.get_by_role("heading", level=1).first).to_have_text("Compare budgets")
        expect(page.get_by_test_id("stSidebarNav")).to_have_count(0)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_role("link")).to_have_count(6)
        with rerun(page):
            sidebar.get_by_role("link", name="Budget explorer").click()
        expect(page.get_by_role("heading", level=1).first).to_have_text("Budget explorer")
        assert urlparse(page.url).path == "/"
    finally:
        context.close()
        stop_app(process)


def _pins_in_url(page: Page, width: int, at_least: int) -> list[str]:
    """The layers pinned to ``width`` in the URL, once it lists at least ``at_least``."""
    page.wait_for_function(
        "([key, n]) => new URLSearchParams(location.search).getAll(key).length >= n",
        arg=[f"pin{width}", at_least],
        timeout=WAIT_MS,
    )
    settle(page)  # the run that wrote the link
    return parse_qs(urlparse(page.url).query).get(f"pin{width}", [])


def test_enter_in_a_pin_box_pins_one_layer_not_every_match(page: Page, app_url: str) -> None:
    """Regression: "conv_out" + Enter pinned 15 layers, "attn1.to_q" + Enter 22."""
    # tall enough that nothing scrolls (a scroll closes the list), and the mouse away from the
    # list (a row under the pointer is highlighted, and Enter takes that row, as it should)
    page.set_viewport_size({"width": 1440, "height": 1600})
    _open(page, app_url, min_charts=len(CHART_KEYS))
    pins = page.get_by_test_id("stSidebar").locator("summary").filter(has_text="Pinned layers")
    with rerun(page):  # the section's boxes are drawn by the run its opening asks for
        pins.click()
    box = page.locator(".st-key-pin_16 input")
    expect(box).to_be_visible()
    tags = page.locator('.st-key-pin_16 [data-testid="stMultiSelectTagsContainer"]')
    box.click()
    page.mouse.move(1400, 10)
    box.press_sequentially("conv_out", delay=20)  # typed: fill() closes the list
    expect(page.get_by_role("option").first).to_have_text("conv_out")
    box.press("Enter")
    expect(tags).to_contain_text("conv_out")
    box.press("Escape")  # the box sends its value when its list closes
    assert _pins_in_url(page, 16, at_least=1) == ["conv_out"]
    box.click()
    page.mouse.move(1400, 10)
    box.press_sequentially("attn1.to_q", delay=20)  # no layer has this exact name
    expect(page.get_by_role("option").first).to_contain_text("attn1.to_q")
    first = page.get_by_role("option").first.inner_text()
    box.press("Enter")
    expect(tags).to_contain_text(first)
    box.press("Escape")
    assert sorted(_pins_in_url(page, 16, at_least=2)) == sorted(["conv_out", first])
    _assert_no_error(page)


def test_sidebar_sections_draw_their_widgets_only_while_open(page: Page, app_url: str) -> None:
    """The first load makes no pin box, limits grid or uploader in the sidebar; opening a
    section (or the limits switch) asks for a run that draws them, closing it one that drops
    them; a section open by default (a group in use) closed by the user stays closed."""
    query = {"budget": "0.4", "limit": "mean_wbits@late<=6", "group": "late:up_blocks.3.*"}
    _open(page, f"{app_url}/?{urlencode(query)}", min_charts=len(CHART_KEYS))
    sidebar = page.get_by_test_id("stSidebar")
    pins = sidebar.locator("summary").filter(has_text="Pinned layers")
    limits = sidebar.locator("[class*='st-key-limits_editor_'] [data-testid=stDataFrame]")
    groups = sidebar.locator("[class*='st-key-groups_editor_'] [data-testid=stDataFrame]")
    expect(groups).to_be_visible()  # open: a group is in use
    expect(sidebar.locator(".st-key-pin_16")).to_have_count(0)
    expect(limits).to_have_count(0)
    in_force = sidebar.get_by_test_id("stCaptionContainer").filter(has_text="In force:")
    expect(in_force).to_have_text("In force: bops <= 0.4x · mean_wbits@late <= 6")
    with rerun(page):
        sidebar.locator(".st-key-limits_open").get_by_text("Edit the limits").click()
    expect(limits).to_be_visible()
    with rerun(page):
        pins.click()
    expect(page.locator(".st-key-pin_16 input")).to_be_visible()
    with rerun(page):
        pins.click()
    expect(sidebar.locator(".st-key-pin_16")).to_have_count(0)
    with rerun(page):
        sidebar.locator("summary").filter(has_text="Groups, ties and files").click()
    expect(groups).to_have_count(0)
    expect(sidebar.get_by_test_id("stFileUploader")).to_have_count(0)
    with rerun(page):  # another run: the closed section stays closed
        sidebar.get_by_text("Exact optimum").click()
    expect(groups).to_have_count(0)
    expect(in_force).to_have_text("In force: bops <= 0.4x · mean_wbits@late <= 6")
    query = parse_qs(urlparse(page.url).query)
    assert (query["group"], query["solver"]) == (["late:up_blocks.3.*"], ["exact"])
    _assert_no_error(page)


HOSTILE_LINK = "[Click to re-login](https://phish.example/login)"


def test_link_text_is_shown_as_text_and_fetches_nothing(page: Page, app_url: str) -> None:
    """Regression: ?solver=[Click](https://...) drew a live link inside the warning box, and
    ![x](http://...) made the browser fetch the URL. Nothing is fetched from another host."""
    tracker = "http://127.0.0.1:9/track.png"  # port 9 (discard): nothing listens there
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    query = urlencode({"solver": HOSTILE_LINK, "rule": f"![x]({tracker})", "pin16": "*x*"})
    _open(page, f"{app_url}/?{query}", min_charts=len(CHART_KEYS))
    warnings = page.get_by_test_id("stAlertContentWarning")
    expect(warnings.filter(has_text=HOSTILE_LINK)).to_have_count(1)
    expect(warnings.filter(has_text=f"![x]({tracker})")).to_have_count(1)
    assert page.locator('a[href*="phish.example"]').count() == 0
    assert page.locator('img[src*="track.png"]').count() == 0
    # Nothing may be fetched: the page's pictures and fonts are in, then half a second is
    # given to a late request that must not come.
    page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=WAIT_MS)
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_timeout(500)
    fetched = [urlparse(url) for url in requests]
    assert not [u for u in fetched if u.path.endswith("track.png") or u.hostname == "phish.example"]
    elsewhere = [url for url in requests if urlparse(url).hostname not in ("127.0.0.1", None)]
    assert not [url for url in elsewhere if not url.startswith(("data:", "blob:"))], elsewhere


def test_the_first_page_loads_the_other_pages_chart_code_while_idle(
    page: Page, app_url: str
) -> None:
    """Streamlit loads an element type's code the first time a page shows one; the Budget
    explorer asks for the other pages' (Plotly charts first) while idle, so the first switch
    to Compare budgets loads none of it."""
    from mpq_app.ui.preload import module_names

    wanted = set(module_names())
    assert any(name.startswith("PlotlyChart.") for name in wanted)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url.rsplit("/", 1)[-1]))
    _open(page, app_url)
    # a second of quiet, then one module per idle moment: until the last one is asked for
    wait_for_requests(page, lambda: wanted <= set(asked))
    assert wanted <= set(asked), sorted(wanted - set(asked))
    # ... and until each has loaded with the modules it imports (their requests come later)
    page.wait_for_function("() => globalThis.__mpqPreloaded === true", timeout=WAIT_MS)

    asked.clear()
    with rerun(page):
        page.get_by_test_id("stSidebar").get_by_role("link", name="Compare budgets").click()
    expect(page.get_by_role("heading", level=1).first).to_have_text("Compare budgets")
    page.wait_for_selector(PLOT, timeout=WAIT_MS)
    settle(page)
    assert not [name for name in asked if name.endswith(".js")], asked
