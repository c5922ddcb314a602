"""Dashboard speed in a real browser: Debian's Chromium (through Playwright) on the SD 1.4 sample.

    python benchmarks/bench_browser.py [--repeats 5] [--switches]

Starts the app on a free local port (a fresh server, warmed by one page load), measures, stops
the server by its pid, and prints the median of each measure with its target and the ratio
(<= 1 meets it; for a rate, target / median):

- drag: updates per second of the views on screen while the thumb is dragged across the track
  (real mouse events at 60 Hz, sent without waiting for the page), 1440 x 900 and, with every
  chart on screen, 1440 x 2600, once the page has prepared its pictures of every step; and at
  both sizes half a second after the first load, while it is still preparing them; the run
  fails if anything is sent to the server while dragging;
- pictures ready: from navigation start until every chart has its picture of every step;
- key step: ArrowRight/ArrowLeft to the views drawn at the new budget (browser only), and to
  everything consistent (every view, the exact box, the link, the script idle);
- bpw drag: the same drag on the formats sample's bpw slider (``?source=minilm_formats``),
  every chart on screen;
- first load: a new browser context to every view drawn (warm server), from navigation start;
- page switch: to Compare budgets (its charts drawn) and back to the Budget explorer, the first
  one 3 s after the first load (a user looks at a page before leaving it);
- bytes per step: websocket bytes (received + sent) of one keyboard step;
- charts ZIP: click to file saved, at a budget not zipped before and again unchanged.

``--switches`` measures the page switches only (about a minute: to compare routing changes
in alternating runs); ``--bpw`` the drag of the formats sample's bpw slider only (its one
limit is not the budget: the views follow that slider live); ``--limits`` the pages with two
and three limits only: for each slider, a keyboard step to the views that follow it redrawn
(target 0.3 s) and, once the pictures of its steps are ready, a drag with every chart on
screen (target 20 updates/s); ``--large`` the synthetic 100,000-layer MoE only (its first
open on the fresh server, then per run: first load, bytes received, keyboard steps, drag).

The machine's load average is printed with the table: the timings share the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from local_app import CHROMIUM, CHROMIUM_ARGS, benchmarked_app

VIEWS = ("cards", "heatmap", "distribution", "budget_use", "budget_curve", "slack")
# the formats sample: its one limit is bpw<=5, whose slider the views follow (not the budget's)
BPW_LINK, BPW_SLIDER = "/?source=minilm_formats", "limit_slider_0"
BPW_VIEWS = ("cards", "weights", "limits_use", "heatmap", "distribution")
IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)
# name: (target, unit, True when more is better)
TARGETS = {
    "drag_900": (20.0, "updates/s", True),
    "drag_2600": (20.0, "updates/s", True),
    "fresh_900": (20.0, "updates/s", True),
    "drag_fresh": (20.0, "updates/s", True),
    "drag_bpw": (20.0, "updates/s", True),
    "pictures": (None, "s", False),
    "key_views": (0.3, "s", False),
    "key_settled": (0.3, "s", False),
    "first_load": (3.0, "s", False),
    "to_compare": (1.0, "s", False),
    "to_explorer": (1.0, "s", False),
    "step_bytes": (20.0, "KB", False),
    "zip_new": (3.0, "s", False),
    "zip_same": (0.5, "s", False),
    "large_cold": (None, "s", False),
    "large_load": (5.0, "s", False),
    "large_bytes": (None, "MB", False),
    "large_key": (0.3, "s", False),
    "large_ready": (0.3, "s", False),
    "large_drag": (20.0, "updates/s", True),
}
LABELS = {
    "drag_900": "drag: updates/s of the views on screen (1440 x 900)",
    "drag_2600": "drag: updates/s, every chart on screen (1440 x 2600)",
    "fresh_900": "drag 0.5 s after the first load, views on screen (1440 x 900)",
    "drag_fresh": "drag 0.5 s after the first load, every chart on screen (1440 x 2600)",
    "drag_bpw": "drag of the bpw slider (formats sample), every chart on screen (1440 x 2600)",
    "pictures": "pictures of every step ready, from navigation start (1440 x 2600)",
    "key_views": "keyboard step to every view redrawn (browser only)",
    "key_settled": "keyboard step to everything consistent (server included)",
    "first_load": "first load, new browser context, every chart drawn",
    "to_compare": "page switch: to Compare budgets",
    "to_explorer": "page switch: back to the Budget explorer",
    "step_bytes": "bytes per keyboard step (websocket, in + out)",
    "zip_new": "charts ZIP at a new budget",
    "zip_same": "charts ZIP again, nothing changed",
    "large_cold": "100,000 layers: first open on a fresh server (caches empty)",
    "large_load": "100,000 layers: first load, new browser context, every chart drawn",
    "large_bytes": "100,000 layers: websocket bytes received by that load (Plotly.js included)",
    "large_key": "100,000 layers: keyboard step to every view redrawn (browser only)",
    "large_ready": "100,000 layers: the same, once the pictures of every step are ready",
    "large_drag": "100,000 layers: drag, every chart on screen (1440 x 2600)",
}

ON_SCREEN: dict[int, list[str]] = {}  # window height -> the views on screen during a drag
VIEWS_AT = """([views, value]) => views.every(key => {
    const host = document.querySelector(`.st-key-${key} .mpq-live`);
    return host && host.dataset.liveValue === value
        && (key === 'cards' || host.querySelector('.main-svg'));
})"""
SETTLED = """([views, value, box, idle]) => {
    const drawn = views.every(key => {
        const host = document.querySelector(`.st-key-${key} .mpq-live`);
        return host && host.dataset.liveValue === value;
    });
    const input = document.querySelector('.st-key-budget_text input');
    const link = new URLSearchParams(location.search).get('budget');
    return drawn && input && input.value === box && link === value
        && document.querySelector(idle) !== null;
}"""
PICTURES_READY = """() => [...__mpqLive.groups.values()].every(group =>
    [...group.views.values()].every(view =>
        !view.pictures || view.pictures.size === view.spec.grid.length))"""
PICTURES_MISSING = """() => [...__mpqLive.groups.values()].flatMap(group =>
    [...group.views.values()].filter(view => view.pictures
        && view.pictures.size !== view.spec.grid.length)
    .map(view => `${group.name}: ${view.spec.chart} ${view.pictures.size}`))"""
ON_SCREEN_PAINTS = """([t0, t1]) => {
    const out = {};
    for (const group of __mpqLive.groups.values()) {
        for (const view of group.views.values()) {
            const r = view.host.getBoundingClientRect();
            const seen = r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
            const paints = (view.paints || []).filter(t => t >= t0 && t <= t1).length;
            out[view.spec.chart] = {seen, paints};
        }
    }
    return out;
}"""


# --- the measures --------------------------------------------------------------------------


async def _open(page, url: str, views: tuple[str, ...] = VIEWS) -> float:
    """Load the Budget explorer; ms from navigation start until every view has drawn."""
    await page.goto(url)
    await page.wait_for_selector(IDLE, timeout=120_000)
    await page.wait_for_function(
        """(views) => views.every(key => {
            const host = document.querySelector(`.st-key-${key} .mpq-live`);
            return host && host.dataset.liveValue !== undefined
                && (['cards', 'weights'].includes(key) || host.querySelector('.main-svg'));
        })""",
        arg=list(views),
        polling="raf",
        timeout=120_000,
    )
    return await page.evaluate("performance.now()")


async def first_loads(browser, url: str, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        context = await browser.new_context(viewport={"width": 1440, "height": 900})
        page = await context.new_page()
        times.append(await _open(page, url) / 1000)
        await context.close()
    return times


async def drag_rates(
    browser, url: str, height: int, repeats: int, ready: list[float] | None = None
) -> list[float]:
    """Drags once the pictures are ready (their times from navigation start appended to
    ``ready``), or half a second after the first load when ``ready`` is None."""
    return [await _drag_rate(browser, url, height, ready) for _ in range(repeats)]


async def _drag_rate(
    browser,
    url: str,
    height: int,
    ready: list[float] | None,
    seconds: float = 3.0,
    slider: str = "budget",
    views: tuple[str, ...] = VIEWS,
) -> float:
    """The slowest on-screen view's updates per second during a drag across the track of
    ``slider`` (the key of the slider ``views`` follow)."""
    context = await browser.new_context(viewport={"width": 1440, "height": height})
    page = await context.new_page()
    sent = _frames_sent(page)
    await _open(page, url, views)
    if ready is not None:
        await page.wait_for_function(PICTURES_READY, polling=100, timeout=120_000)
        ready.append(await page.evaluate("performance.now()") / 1000)
    await page.wait_for_timeout(500)
    rate = await _drag(context, page, slider, height, seconds, sent)
    await context.close()
    return rate


def _frames_received(page) -> list[int]:
    """The sizes of the frames the page's websockets receive from now on."""
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda p: received.append(len(p))))
    return received


def _frames_sent(page) -> list[int]:
    """The frames the page's websockets send from now on (one entry each)."""
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(1)))
    return sent


async def _drag(
    context,
    page,
    slider: str,
    height: int,
    seconds: float,
    sent: list[int],
    follow: tuple[str, ...] = (),
) -> float:
    """A drag across ``slider``'s track on an open page (``sent``: its frames to the server,
    :func:`_frames_sent`): the slowest on-screen view's updates per second (of the views in
    ``follow``, when given: those that follow that slider)."""
    cdp = await context.new_cdp_session(page)
    thumb = page.locator(f".st-key-{slider} [data-testid=stSliderThumbValue]").locator("..")
    box = await thumb.bounding_box()
    track = await page.locator(f".st-key-{slider} [data-testid=stSlider]").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    left, right = track["x"] + 0.1 * track["width"], track["x"] + 0.9 * track["width"]

    def mouse(kind: str, at: float, buttons: int = 1) -> asyncio.Future:
        # not awaited one by one: a hand on a mouse does not wait for the page either
        event = {"type": kind, "x": at, "y": y, "button": "left", "buttons": buttons}
        return asyncio.ensure_future(
            cdp.send("Input.dispatchMouseEvent", {**event, "clickCount": 1})
        )

    await mouse("mouseMoved", x, 0)
    await mouse("mousePressed", x)
    before = len(sent)
    t0 = await page.evaluate("performance.now()")
    start, pending, at = time.perf_counter(), [], x
    while (elapsed := time.perf_counter() - start) < seconds:
        phase = (elapsed / 1.5) % 2  # 1.5 s a sweep: about 55 slider steps a second
        at = left + (right - left) * (phase if phase <= 1 else 2 - phase)
        pending.append(mouse("mouseMoved", at))
        await asyncio.sleep(1 / 60)
    t1 = await page.evaluate("performance.now()")
    views = await page.evaluate(ON_SCREEN_PAINTS, [t0, t1])
    await asyncio.gather(*pending)
    if len(sent) != before:
        raise SystemExit("the drag sent something to the server before the release")
    await mouse("mouseReleased", at)
    seen = {
        name: view["paints"]
        for name, view in views.items()
        if view["seen"] and (not follow or name in follow)
    }
    ON_SCREEN[height] = sorted(seen)
    return min(seen.values()) / ((t1 - t0) / 1000)


async def bpw_drags(browser, url: str, repeats: int) -> list[float]:
    """Drags of the formats sample's bpw slider (its one limit: the views follow it live),
    every chart on screen, once the pictures of every step are ready."""
    link = url + BPW_LINK
    return [
        await _drag_rate(browser, link, 2600, [], slider=BPW_SLIDER, views=BPW_VIEWS)
        for _ in range(repeats)
    ]


# several limits: the budget and a mean-bits cap, then a cap on the weight bits as well; the
# views that follow each slider (the budget's curves follow only the budget's)
SEVERAL = {
    "two": "/?budget=0.4&limit=mean_wbits%3C%3D6",
    "three": "/?budget=0.4&limit=mean_wbits%3C%3D6&limit=wbits%3C%3D0.9r",
}
SEVERAL_VIEWS = ("cards", "weights", "limits_use", "heatmap", "distribution", "budget_use")
FOLLOW = {"budget": (*SEVERAL_VIEWS, "budget_curve", "slack")}
KEY_SHOWN = """([views, key]) => [
    document.querySelector(`.st-key-${key} input[type=range]`)?.value,
    ...views.map(name => document.querySelector(`.st-key-${name} .mpq-live`)?.dataset.liveValue),
]"""
KEY_DRAWN = """([views, key, before]) => {
    const input = document.querySelector(`.st-key-${key} input[type="range"]`);
    return input && input.value !== before && views.every(name => {
        const host = document.querySelector(`.st-key-${name} .mpq-live`);
        return host && Number(host.dataset.liveValue) === Number(input.value);
    });
}"""


async def several_limits(browser, url: str, repeats: int) -> dict[str, list[float]]:
    """Per page (two limits, three) and slider: a keyboard step to every view that follows
    it redrawn (browser only), then, once the pictures of that slider's steps are ready, the
    same keyboard steps again and a drag with every chart on screen (1440 x 2600)."""
    results: dict[str, list[float]] = {}
    for count, link in SEVERAL.items():
        sliders = ["budget"] + [f"limit_slider_{i}" for i in range(1, len(link.split("limit=")))]
        for slider in sliders:
            follow = FOLLOW.get(slider, SEVERAL_VIEWS)
            keys, ready, drags = [], [], []
            for _ in range(repeats):
                context = await browser.new_context(viewport={"width": 1440, "height": 2600})
                page = await context.new_page()
                sent = _frames_sent(page)
                await _open(page, url + link, follow)
                for key in ("ArrowLeft", "ArrowRight"):
                    keys.append(await _key_step(page, slider, key, follow))
                try:
                    await page.wait_for_function(PICTURES_READY, polling=100, timeout=180_000)
                except Exception as err:
                    missing = await page.evaluate(PICTURES_MISSING)
                    message = f"{count} limits, {slider}: pictures missing {missing}"
                    raise SystemExit(message) from err
                await page.wait_for_timeout(500)
                for key in ("ArrowLeft", "ArrowRight"):
                    ready.append(await _key_step(page, slider, key, follow))
                # a committed value reruns the page: the views' data changes, their pictures
                # are made again before the drag
                await page.wait_for_function(PICTURES_READY, polling=100, timeout=180_000)
                await page.wait_for_timeout(500)
                drags.append(await _drag(context, page, slider, 2600, 3.0, sent, follow))
                await context.close()
            results[f"{count}_{slider}_key"] = keys
            results[f"{count}_{slider}_ready"] = ready
            results[f"{count}_{slider}_drag"] = drags
            TARGETS[f"{count}_{slider}_key"] = (0.3, "s", False)
            TARGETS[f"{count}_{slider}_ready"] = (0.3, "s", False)
            TARGETS[f"{count}_{slider}_drag"] = (20.0, "updates/s", True)
            LABELS[f"{count}_{slider}_key"] = f"{count} limits, {slider}: key step to its views"
            LABELS[f"{count}_{slider}_ready"] = (
                f"{count} limits, {slider}: key step to its views, pictures ready"
            )
            LABELS[f"{count}_{slider}_drag"] = (
                f"{count} limits, {slider}: drag, every chart on screen"
            )
    return results


LARGE_LINK = "/?source=moe_100k"  # the synthetic 100,000-layer MoE


async def large_model(browser, url: str, repeats: int) -> dict[str, list[float]]:
    """The synthetic 100,000-layer MoE: its first open on this server (caches empty: the
    files made and read, 101 budgets solved, every view packed), then per run a new browser
    context (warm server) to every view drawn with the bytes the page received, a keyboard
    step each way to every view redrawn, and, once the pictures are ready, the same steps
    again and a drag with every chart on screen."""
    link = url + LARGE_LINK
    cold = await browser.new_context(viewport={"width": 1440, "height": 900})
    results = {"large_cold": [await _open(await cold.new_page(), link) / 1000]}
    await cold.close()
    loads, sizes, keys, ready, drags = [], [], [], [], []
    for _ in range(repeats):
        context = await browser.new_context(viewport={"width": 1440, "height": 2600})
        page = await context.new_page()
        received = _frames_received(page)
        sent = _frames_sent(page)
        loads.append(await _open(page, link) / 1000)
        sizes.append(sum(received) / 1e6)
        for key in ("ArrowLeft", "ArrowRight"):
            keys.append(await _key_step(page, "budget", key, VIEWS))
        await page.wait_for_function(PICTURES_READY, polling=100, timeout=180_000)
        await page.wait_for_timeout(500)
        for key in ("ArrowLeft", "ArrowRight"):
            ready.append(await _key_step(page, "budget", key, VIEWS))
        drags.append(await _drag(context, page, "budget", 2600, 3.0, sent, VIEWS))
        await context.close()
    return results | {
        "large_load": loads,
        "large_bytes": sizes,
        "large_key": keys,
        "large_ready": ready,
        "large_drag": drags,
    }


async def _key_step(page, slider: str, key: str, follow: tuple[str, ...]) -> float:
    """One key on ``slider``: seconds until every view of ``follow`` draws the new value (the
    server then solves anew: waited for, not timed)."""
    await page.wait_for_selector(IDLE, timeout=120_000)
    thumb = page.locator(f".st-key-{slider}").get_by_role("slider")
    await thumb.focus()
    before = await page.locator(f".st-key-{slider} input[type=range]").input_value()
    await page.evaluate("() => { window.__t0 = performance.now(); }")
    await thumb.press(key)
    try:
        await page.wait_for_function(
            KEY_DRAWN, arg=[list(follow), slider, before], polling="raf", timeout=60_000
        )
    except Exception as err:
        shown = await page.evaluate(KEY_SHOWN, [list(follow), slider])
        raise SystemExit(f"{slider} {key} from {before}: {shown}") from err
    seconds = await page.evaluate("performance.now() - window.__t0") / 1000
    await page.wait_for_timeout(300)  # the run the key asked for starts
    await page.wait_for_selector(IDLE, timeout=120_000)
    return seconds


async def key_steps(browser, url: str, steps: int) -> tuple[list[float], list[float], list[float]]:
    """Per keyboard step: views drawn (s), everything consistent (s), websocket KB."""
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    frames: list[int] = []

    def count(ws) -> None:
        ws.on("framereceived", lambda payload: frames.append(len(payload)))
        ws.on("framesent", lambda payload: frames.append(len(payload)))

    page.on("websocket", count)
    await _open(page, url)
    slider = page.get_by_role("slider", name="Budget multiplier")
    await slider.focus()
    drawn, settled, sizes = [], [], []
    value = 0.5
    for i in range(steps):
        key, delta = ("ArrowRight", 0.01) if i % 4 < 2 else ("ArrowLeft", -0.01)
        value = round(value + delta, 2)
        await page.wait_for_timeout(400)
        frames.clear()
        await page.evaluate("() => { window.__t0 = performance.now(); }")
        await slider.press(key)
        target = [list(VIEWS), f"{value:g}"]
        await page.wait_for_function(VIEWS_AT, arg=target, polling="raf", timeout=60_000)
        drawn.append(await page.evaluate("performance.now() - window.__t0") / 1000)
        await page.wait_for_function(
            SETTLED, arg=[*target, f"{value:.2f}", IDLE], polling="raf", timeout=60_000
        )
        settled.append(await page.evaluate("performance.now() - window.__t0") / 1000)
        await page.wait_for_timeout(300)  # late frames of the step
        sizes.append(sum(frames) / 1000)
    await context.close()
    return drawn, settled, sizes


async def page_switches(browser, url: str, repeats: int) -> tuple[list[float], list[float]]:
    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    await _open(page, url)
    await page.wait_for_timeout(3000)
    there, back = [], []
    sidebar = page.get_by_test_id("stSidebar")
    for _ in range(repeats):
        start = time.perf_counter()
        await sidebar.get_by_role("link", name="Compare budgets").click()
        await page.get_by_role("heading", name="Compare budgets", level=1).wait_for()
        await page.wait_for_function(
            """() => {
                const plots = [...document.querySelectorAll('.js-plotly-plot')];
                return plots.length > 0 && plots.every(p => p.querySelector('.main-svg'));
            }""",
            polling="raf",
        )
        await page.wait_for_selector(IDLE)
        there.append(time.perf_counter() - start)
        start = time.perf_counter()
        await sidebar.get_by_role("link", name="Budget explorer").click()
        await page.get_by_role("heading", name="Budget explorer", level=1).wait_for()
        await page.wait_for_function(
            VIEWS_AT, arg=[list(VIEWS), "0.5"], polling="raf", timeout=60_000
        )
        await page.wait_for_selector(IDLE)
        back.append(time.perf_counter() - start)
    await context.close()
    return there, back


async def chart_zips(browser, url: str, repeats: int) -> tuple[list[float], list[float]]:
    context = await browser.new_context(
        viewport={"width": 1440, "height": 900}, accept_downloads=True
    )
    page = await context.new_page()
    await _open(page, url)
    slider = page.get_by_role("slider", name="Budget multiplier")
    button = page.locator(".st-key-download_images button")
    new, same = [], []
    folder = Path(tempfile.mkdtemp(prefix="mpq-bench-"))
    for i in range(repeats):
        await slider.focus()
        await slider.press("ArrowLeft")  # a budget this server has not zipped
        value = f"{0.5 - 0.01 * (i + 1):.2f}"
        await page.wait_for_function(
            SETTLED,
            arg=[list(VIEWS), f"{float(value):g}", value, IDLE],
            polling="raf",
            timeout=60_000,
        )
        for times in (new, same):
            start = time.perf_counter()
            async with page.expect_download(timeout=120_000) as info:
                await button.click()
            download = await info.value
            await download.save_as(folder / download.suggested_filename)
            times.append(time.perf_counter() - start)
    await context.close()
    return new, same


# --- report ----------------------------------------------------------------------------------


def _row(name: str, values: list[float]) -> str:
    target, unit, more_is_better = TARGETS[name]
    median = statistics.median(values)
    digits = 1 if unit in ("updates/s", "KB") else 2
    spread = f"{min(values):.{digits}f}–{max(values):.{digits}f}"
    if target is None:
        goal, ratio = "", ""
    else:
        goal = f"{'≥' if more_is_better else '≤'} {target:g} {unit}"
        ratio = f"{target / median if more_is_better else median / target:.2f}"
    return (
        f"| {LABELS[name]} | {median:.{digits}f} {unit} | {goal} | "
        f"{ratio} | {len(values)} | {spread} |"
    )


async def measure(
    url: str,
    repeats: int,
    switches_only: bool = False,
    bpw_only: bool = False,
    limits_only: bool = False,
    large_only: bool = False,
) -> dict[str, list[float]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        try:
            warm = await browser.new_context()
            await _open(await warm.new_page(), url)  # caches filled: a warm server
            await warm.close()
            if switches_only:
                there, back = await page_switches(browser, url, repeats)
                return {"to_compare": there, "to_explorer": back}
            if bpw_only:
                return {"drag_bpw": await bpw_drags(browser, url, repeats)}
            if limits_only:
                return await several_limits(browser, url, repeats)
            if large_only:
                return await large_model(browser, url, repeats)
            results: dict[str, list[float]] = {}
            results["pictures"] = []
            results["drag_900"] = await drag_rates(browser, url, 900, repeats, [])
            results["drag_2600"] = await drag_rates(
                browser, url, 2600, repeats, results["pictures"]
            )
            results["fresh_900"] = await drag_rates(browser, url, 900, repeats)
            results["drag_fresh"] = await drag_rates(browser, url, 2600, repeats)
            results["drag_bpw"] = await bpw_drags(browser, url, repeats)
            drawn, settled, sizes = await key_steps(browser, url, 2 * repeats)
            results |= {"key_views": drawn, "key_settled": settled, "step_bytes": sizes}
            results["first_load"] = await first_loads(browser, url, repeats)
            there, back = await page_switches(browser, url, repeats)
            results |= {"to_compare": there, "to_explorer": back}
            new, same = await chart_zips(browser, url, repeats)
            results |= {"zip_new": new, "zip_same": same}
            return results
        finally:
            await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--switches", action="store_true", help="the page switches only")
    parser.add_argument("--bpw", action="store_true", help="the bpw slider's drag only")
    parser.add_argument("--limits", action="store_true", help="two and three limits only")
    parser.add_argument("--large", action="store_true", help="the 100,000-layer sample only")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with benchmarked_app() as url:
        results = asyncio.run(
            measure(url, args.repeats, args.switches, args.bpw, args.limits, args.large)
        )
    load_after = os.getloadavg()
    print("| measure | median | target | ratio | runs | min–max |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in (name for name in TARGETS if name in results):
        print(_row(name, results[name]))
    for height, names in ON_SCREEN.items():
        print(f"\non screen while dragging at 1440 x {height}: {', '.join(names)}", end="")
    print(
        f"\nload average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in load_after)}; {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
