"""Where the first load of the Budget explorer goes: a breakdown, from navigation start.

    python benchmarks/bench_first_load.py              # 7 loads (a few minutes on 2 cores)
    python benchmarks/bench_first_load.py --repeats 3

Each load is a new browser context (nothing cached in the browser) on a warm server (one load
first, so the server's caches hold the sample's sweep: what every user but the first gets).
Milestones, each the median over the loads in ms from navigation start, read in the page:

- ``document``: the HTML page received (Navigation Timing ``responseEnd``);
- ``static files``: the last of Streamlit's own scripts and style sheets received (Resource
  Timing), with their total size as transferred;
- ``socket, first message``: the app's websocket delivers its first message;
- ``script started``, ``script finished``: the server's ``new_session`` and
  ``script_finished`` messages as the page receives them (the span between is the server's
  run of the page script plus sending what it draws: measured from the browser, so it
  includes the transfer), with the bytes the websocket delivered by then and the largest
  single message (Plotly.js for the live charts, sent once per session);
- ``Plotly.js ready``: ``window.Plotly`` set;
- ``first chart``: the first Plotly chart's SVG in the page;
- ``every view drawn``: the cards and every live chart drawn (``bench_browser.py``'s first
  load).

Target (issue "The dashboard for everyone", first load): every view drawn <= 1.5 s on the SD 1.4
sample on a quiet machine. The load average is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_browser import VIEWS  # noqa: E402
from benchmarks.local_app import CHROMIUM, CHROMIUM_ARGS, benchmarked_app  # noqa: E402

TARGET_MS = 1500.0
IDLE = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'

# In the page, before any of its scripts: when each websocket message arrives and its size,
# when Plotly.js is set on window, and when the first chart's SVG appears.
_RECORD = """(() => {
  const log = { messages: [], plotly: null, firstChart: null };
  window.__mpqLoad = log;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!String(args[0]).endsWith('/_stcore/stream')) return;
      this.addEventListener('message', (event) => {
        const data = event.data;
        const size = data.byteLength ?? data.size ?? data.length ?? 0;
        log.messages.push([performance.now(), size]);
      });
    }
  };
  let plotly;
  Object.defineProperty(window, 'Plotly', {
    configurable: true,
    get() { return plotly; },
    set(value) { if (log.plotly === null) log.plotly = performance.now(); plotly = value; },
  });
  new MutationObserver((_, observer) => {
    if (document.querySelector('.js-plotly-plot .main-svg')) {
      log.firstChart = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
})();"""

_DRAWN = """(views) => views.every(key => {
    const host = document.querySelector(`.st-key-${key} .mpq-live`);
    return host && host.dataset.liveValue !== undefined
        && (key === 'cards' || host.querySelector('.main-svg'));
})"""

_TIMINGS = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const statics = performance.getEntriesByType('resource')
        .filter(r => r.name.includes('/static/') && /\\.(js|css)(\\?|$)/.test(r.name));
    return {
        document: nav.responseEnd,
        staticEnd: Math.max(0, ...statics.map(r => r.responseEnd)),
        staticBytes: statics.reduce((sum, r) => sum + (r.transferSize || 0), 0),
        staticCount: statics.length,
        log: window.__mpqLoad,
    };
}"""


async def one_load(browser, url: str) -> dict[str, float]:
    """The milestones of one first load (ms from navigation start; bytes)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    context = await browser.new_context(viewport={"width": 1440, "height": 900})
    page = await context.new_page()
    kinds: list[str] = []  # the type of each message the app's websocket delivered, in order

    def attach(socket) -> None:
        if socket.url.endswith("/_stcore/stream"):
            socket.on("framereceived", lambda payload: kinds.append(_kind(payload, ForwardMsg)))

    page.on("websocket", attach)
    await page.add_init_script(_RECORD)
    await page.goto(url)
    await page.wait_for_selector(IDLE, timeout=120_000)
    await page.wait_for_function(_DRAWN, arg=list(VIEWS), polling="raf", timeout=120_000)
    drawn = await page.evaluate("performance.now()")
    timings = await page.evaluate(_TIMINGS)
    await context.close()
    return _milestones(timings, kinds, drawn)


def _kind(payload: bytes | str, message_type) -> str:
    if isinstance(payload, str):
        return "text"
    message = message_type()
    message.ParseFromString(payload)
    return message.WhichOneof("type") or ""


def _milestones(timings: dict, kinds: list[str], drawn: float) -> dict[str, float]:
    log = timings["log"]
    messages = log["messages"][: len(kinds)]
    started = _time_of(messages, kinds, "new_session")
    finished_at = kinds.index("script_finished") if "script_finished" in kinds else -1
    upto = messages[: finished_at + 1] if finished_at >= 0 else messages
    return {
        "document": timings["document"],
        "static": timings["staticEnd"],
        "static_kb": timings["staticBytes"] / 1024,
        "socket": messages[0][0] if messages else float("nan"),
        "started": started,
        "finished": _time_of(messages, kinds, "script_finished"),
        "ws_kb": sum(size for _, size in upto) / 1024,
        "largest_kb": max((size for _, size in upto), default=0) / 1024,
        "plotly": log["plotly"] if log["plotly"] is not None else float("nan"),
        "first_chart": log["firstChart"] if log["firstChart"] is not None else float("nan"),
        "drawn": drawn,
    }


def _time_of(messages: list, kinds: list[str], kind: str) -> float:
    for (at, _), seen in zip(messages, kinds, strict=False):
        if seen == kind:
            return at
    return float("nan")


ROWS = (  # key, label, unit
    ("document", "document received", "ms"),
    ("static", "Streamlit's static files received", "ms"),
    ("static_kb", "... their size as transferred", "KB"),
    ("socket", "websocket, first message", "ms"),
    ("started", "script started (new_session received)", "ms"),
    ("finished", "script finished (script_finished received)", "ms"),
    ("ws_kb", "... bytes the websocket delivered by then", "KB"),
    ("largest_kb", "... its largest message", "KB"),
    ("plotly", "Plotly.js ready (window.Plotly set)", "ms"),
    ("first_chart", "first chart's SVG in the page", "ms"),
    ("drawn", "every view drawn", "ms"),
)


async def measure(url: str, repeats: int) -> list[dict[str, float]]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS)
        )
        try:
            await one_load(browser, url)  # a warm server: its caches hold the sample's sweep
            return [await one_load(browser, url) for _ in range(repeats)]
        finally:
            await browser.close()


def report(loads: list[dict[str, float]]) -> None:
    print("| milestone (from navigation start) | median | min–max |")
    print("| --- | ---: | ---: |")
    for key, label, unit in ROWS:
        values = [load[key] for load in loads]
        median = statistics.median(values)
        print(f"| {label} | {median:,.0f} {unit} | {min(values):,.0f}–{max(values):,.0f} |")
    drawn = statistics.median(load["drawn"] for load in loads)
    print(f"\nevery view drawn: median {drawn:,.0f} ms; target <= {TARGET_MS:,.0f} ms; "
          f"ratio {drawn / TARGET_MS:.2f} ({len(loads)} loads)")  # fmt: skip
    spans = {
        "server run and transfer (started -> finished)": "finished - started",
        "after the script: Plotly.js and the charts (finished -> drawn)": "drawn - finished",
    }
    for label, expression in spans.items():
        first, second = (part.strip() for part in expression.split("-"))
        values = [load[first] - load[second] for load in loads]
        print(f"{label}: median {statistics.median(values):,.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    before = os.getloadavg()
    with benchmarked_app() as url:
        loads = asyncio.run(measure(url, args.repeats))
    after = os.getloadavg()
    report(loads)
    print(
        f"load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in before)}; "
        f"after: {', '.join(f'{v:.2f}' for v in after)}; {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
