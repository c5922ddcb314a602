"""What every browser test module shares: Playwright's page and expect, where screenshots go,
the selector of an app at rest (connected, no script running), and waits on the app's script
runs as its websocket reports them (never on time)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from weakref import WeakKeyDictionary

import pytest
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from support import REPO

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install -r requirements-dev.txt)",
)
expect = sync_api.expect
Page = sync_api.Page
expect.set_options(timeout=30_000)  # a rerun on a loaded CI machine may take a while

SCREENSHOTS = REPO / "artifacts" / "screenshots"
IDLE = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    '[data-test-script-state="notRunning"]'
)
ERRORS = '[data-testid="stException"], [data-testid="stAlertContentError"]'
WAIT_MS = 60_000
_SLICE_MS = 1_000
STREAM = "/_stcore/stream"  # the app's websocket (the same in _COUNT_MESSAGES)

# In the page: how many messages the app's current websocket has delivered to it.
_COUNT_MESSAGES = """(() => {
  const Native = window.WebSocket;
  window.__mpqMessages = 0;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      if (!String(args[0]).endsWith('/_stcore/stream')) return;
      window.__mpqMessages = 0;
      this.addEventListener('message', () => { window.__mpqMessages += 1; });
    }
  };
})();"""
# Two animation frames: what the last message set has been rendered (React commits it in a
# task of its own after the message) and laid out.
TWO_FRAMES = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


class Runs:
    """The script runs of one page, read from the app's websocket: each run the page asks
    for (a ``rerun_script`` message), each the server finishes (``script_finished``, not cut
    short by another run) and the "nothing runs" that follows (``session_status_changed``).

    The page's own ``data-test-script-state`` cannot tell this alone: a run that is quick, or
    ends while the browser is busy, is never drawn as "running", so "not running" may still
    be the state from before the change.
    """

    def __init__(self, page: Page):
        if page.url != "about:blank":
            raise RuntimeError("track a page's runs before it opens the app")
        self.tick = 0  # messages seen both ways, over every socket of the page
        self.asked = 0  # the tick of the last run asked for
        self.finished = 0  # ... of the last run finished
        self.stopped = 0  # ... of the last "nothing runs"
        self.socket: sync_api.WebSocket | None = None
        self.received = 0  # messages received on the current socket
        self.stopped_at = 0  # which of them said "nothing runs" last
        page.add_init_script(_COUNT_MESSAGES)
        page.on("websocket", self._attach)

    def _attach(self, socket: sync_api.WebSocket) -> None:
        if not socket.url.endswith(STREAM):
            return
        self.socket, self.received = socket, 0
        socket.on("framesent", lambda payload: self._sent(socket, payload))
        socket.on("framereceived", lambda payload: self._received(socket, payload))

    def _sent(self, socket: sync_api.WebSocket, payload: bytes | str) -> None:
        if socket is not self.socket or isinstance(payload, str):
            return
        self.tick += 1
        message = BackMsg()
        message.ParseFromString(payload)
        if message.WhichOneof("type") == "rerun_script":
            self.asked = self.tick

    def _received(self, socket: sync_api.WebSocket, payload: bytes | str) -> None:
        if socket is not self.socket or isinstance(payload, str):
            return
        self.tick += 1
        self.received += 1
        message = ForwardMsg()
        message.ParseFromString(payload)
        kind = message.WhichOneof("type")
        if kind == "script_finished" and (
            message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN
        ):
            self.finished = self.tick
        elif kind == "session_status_changed" and (
            not message.session_status_changed.script_is_running
        ):
            self.stopped, self.stopped_at = self.tick, self.received

    def settled(self) -> bool:
        """Every run asked for has finished, and nothing runs."""
        return 0 < self.asked < self.finished < self.stopped

    def mark(self, page: Page) -> int:
        """Now, in ticks (after a round trip to the browser: every earlier message is in)."""
        page.evaluate("0")
        return self.tick

    def wait(self, page: Page, after: int | None = None, timeout: float = WAIT_MS) -> None:
        """Until a run asked for after the tick ``after`` (with None: any run so far) and
        every run asked for since have finished; then until the page has taken in the last
        message, rendered it and shows the app at rest."""
        deadline = time.monotonic() + timeout / 1000

        def done(*_: object) -> bool:
            return self.settled() and (after is None or self.asked > after)

        while not done():
            left = (deadline - time.monotonic()) * 1000
            if left <= 0:
                raise sync_api.TimeoutError(f"no finished script run within {timeout:.0f} ms")
            socket = self.socket
            if socket is None:
                page.wait_for_event("websocket", timeout=left)
                continue
            # in slices: a page that navigates opens another socket, and the old one may
            # never report its close (each slice ends at once when the run is done)
            with suppress(sync_api.Error):  # the slice ended, or the socket closed: look again
                socket.wait_for_event("framereceived", predicate=done, timeout=min(left, _SLICE_MS))
        left = max((deadline - time.monotonic()) * 1000, 1_000)
        page.wait_for_function(
            "([count, idle]) => window.__mpqMessages >= count && document.querySelector(idle)",
            arg=[self.stopped_at, IDLE],
            timeout=left,
        )
        page.evaluate(TWO_FRAMES)
        page.wait_for_selector(IDLE, timeout=left)


_RUNS: WeakKeyDictionary[Page, Runs] = WeakKeyDictionary()  # an entry goes with its page


def runs(page: Page) -> Runs:
    """The page's :class:`Runs`, tracked from its first call (before the page opens the app)."""
    if page not in _RUNS:
        _RUNS[page] = Runs(page)
    return _RUNS[page]


@contextmanager
def rerun(page: Page, timeout: float = WAIT_MS) -> Iterator[None]:
    """``with rerun(page): <a change>``: on leaving, the script run that the change asked
    for (a page load, a widget's new value, a page link) has finished and the page shows
    it. Only for a change that asks for a run: otherwise it fails after ``timeout``."""
    tracked = runs(page)
    after = tracked.mark(page)
    yield
    tracked.wait(page, after, timeout)


def settle(page: Page, timeout: float = WAIT_MS) -> None:
    """Every run the page has asked for so far has finished, and the page shows it."""
    runs(page).wait(page, None, timeout)


def wait_for_requests(page: Page, wanted: Callable[[], bool]) -> None:
    """Until ``wanted()`` holds (the caller's own ``request`` listener records what it
    needs), checked after each request the page makes; at most ``WAIT_MS``, without an
    error: the caller asserts."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not wanted() and time.monotonic() < deadline:
        try:
            page.wait_for_event("request", timeout=(deadline - time.monotonic()) * 1000)
        except sync_api.TimeoutError:
            return


def wait_for_viewport(page: Page, height: int) -> None:
    """After ``set_viewport_size``: the page has the new height, has laid itself out at it and
    drawn twice (resize observers, charts that follow their container's size)."""
    page.wait_for_function("h => window.innerHeight === h", arg=height, timeout=WAIT_MS)
    page.evaluate(TWO_FRAMES)


def download(page: Page, trigger: sync_api.Locator, folder: Path) -> Path:
    """Click ``trigger`` and save the file it downloads in ``folder``, under the name the page
    suggests (which the caller checks)."""
    with page.expect_download(timeout=WAIT_MS) as info:
        trigger.click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return saved


def full_screenshot(page: Page, folder: Path, name: str, width: int = 1440) -> Path:
    """The whole page: it scrolls inside stMain, so grow the viewport to its height first
    (and to the sidebar's, when it is open)."""
    height = page.evaluate(
        """() => {
            const open = document.querySelector('[data-testid="stSidebar"][data-collapsed="false"]');
            const ids = open ? ['stMain', 'stSidebarContent'] : ['stMain'];
            return Math.max(...ids.map(id => document.querySelector(`[data-testid="${id}"]`))
                .filter(Boolean).map(el => el.scrollHeight), 600);
        }"""
    )
    page.set_viewport_size({"width": width, "height": int(height) + 40})
    wait_for_viewport(page, int(height) + 40)
    settle(page)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


def drag_thumb(
    page: Page, slider: str, dx: float, sent: list[int], timeout: float = WAIT_MS
) -> float:
    """Drag ``slider``'s thumb by ``dx`` pixels and hold it: once the heatmap draws the value
    under the thumb (with no frame sent to the server), that value."""
    thumb = page.locator(f".st-key-{slider} [data-testid=stSliderThumbValue]").locator("..")
    box = thumb.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    frames = len(sent)
    page.mouse.move(x + dx, y, steps=10)
    page.wait_for_function(
        """key => {
            const drawn = document.querySelector('.st-key-heatmap .mpq-live').dataset.liveValue;
            const thumb = document.querySelector(`.st-key-${key} input[type="range"]`);
            return drawn !== undefined && Number(drawn) === Number(thumb.value);
        }""",
        arg=slider,
        timeout=timeout,
    )
    assert len(sent) == frames, "the drag asked the server"
    return float(page.locator(".st-key-heatmap .mpq-live").get_attribute("data-live-value"))


def release_thumb(page: Page, key: str, value: str, timeout: float = WAIT_MS) -> None:
    """Release the mouse: the page's run ends with ``value`` among the link's ``key``s."""
    with rerun(page, timeout):
        page.mouse.up()
    settle(page, timeout)
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(location.search).getAll(k).includes(v)",
        arg=[key, value],
        timeout=timeout,
    )
    assert page.locator(ERRORS).count() == 0, page.locator(ERRORS).all_inner_texts()
