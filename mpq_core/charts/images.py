"""Figures as image files: PNG/SVG/PDF through kaleido and a local Chrome/Chromium, and a ZIP.

Every export path (the app's camera button, its charts ZIP, ``--report``) uses the figure's own
print size (``layout.width``/``height``), :data:`PNG_SCALE` for PNGs and the file name in
``layout.meta["file"]`` (:func:`image_options`, :func:`image_name`).

The browser is checked before anything starts (:func:`check_browser`: ``BROWSER_PATH``, else
the usual names on ``PATH``; it must answer ``--version`` within seconds), so a missing or
broken one is one line at once (:class:`ImageExportError`), never a long wait. One kaleido
browser, started for the batch in its own thread and event loop, renders every image.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import io
import os
import re
import shutil
import subprocess
import threading
import time
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from ..report.formats import IMAGE_FORMATS

ARCHIVE_FORMATS = ("png", "svg")  # what the app's charts ZIP holds
PNG_SCALE = 2  # PNGs at twice the layout size: sharp enough for a paper
IMAGE_WIDTH = 1100  # layout pixels of a figure that sets no size
IMAGE_HEIGHT = 560
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_HINT = "apt-get install chromium"
VERSION_SECONDS = 10.0  # a browser that does not print its version by then is broken
RENDER_SECONDS = 30.0  # per image
_TABS = 2  # images rendered side by side (the machine this was tuned on has 2 cores)
_BATCH_SECONDS = 180.0  # the whole batch, whatever happens inside kaleido
_STOP_SECONDS = 15.0
_STEM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_FILE_MODE = 0o644


class ImageExportError(RuntimeError):
    """Images cannot be made here; the message is one line that names what is missing."""


def find_browser() -> Path:
    """The Chrome/Chromium to use: ``BROWSER_PATH`` if set, else the first usual name on PATH."""
    given = os.environ.get("BROWSER_PATH")
    if given:
        path = Path(given)
        if not path.is_file():
            raise ImageExportError(
                f"chart images need Chromium: BROWSER_PATH={given} does not exist "
                f"(install it: {INSTALL_HINT}, or point BROWSER_PATH at Chrome/Chromium)"
            )
        return path
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    raise ImageExportError(
        f"chart images need Chromium, and none was found on PATH "
        f"(install it: {INSTALL_HINT}, or set BROWSER_PATH)"
    )


def check_browser(timeout: float = VERSION_SECONDS) -> Path:
    """:func:`find_browser`, then make sure it runs: ``<browser> --version`` must exit 0."""
    path = find_browser()
    broken = f"chart images need a working Chromium: {path}"
    if not os.access(path, os.X_OK):
        raise ImageExportError(f"{broken} is not executable")
    try:
        run = subprocess.run(
            [str(path), "--version"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ImageExportError(f"{broken} --version did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise ImageExportError(f"{broken} does not start ({exc.strerror or exc})") from None
    if run.returncode != 0:
        said = _first_line(run.stderr) or _first_line(run.stdout)
        raise ImageExportError(
            f"{broken} --version exited with code {run.returncode}" + (f" ({said})" if said else "")
        )
    return path


def image_options(fig: go.Figure, fmt: str, *, scale: float = PNG_SCALE) -> dict[str, Any]:
    """Format, print size and scale of a figure's image: kaleido's options, and (with
    ``filename``) plotly's ``toImageButtonOptions`` for the camera button."""
    layout = fig.layout
    return {
        "format": fmt,
        "width": int(layout.width or IMAGE_WIDTH),
        "height": int(layout.height or IMAGE_HEIGHT),
        "scale": scale if fmt == "png" else 1,
    }


def image_stem(key: str, fig: go.Figure) -> str:
    """The figure's export file stem (``heatmap_m0.25``), or ``key`` when it sets none."""
    meta = fig.layout.meta
    stem = meta.get("file") if isinstance(meta, dict) else None
    if not stem:
        return key
    if not isinstance(stem, str) or not _STEM.match(stem) or ".." in stem:
        raise ValueError(f"figure {key!r}: export file name {stem!r} is not a plain name")
    return stem


def image_name(key: str, fig: go.Figure, fmt: str) -> str:
    return f"{image_stem(key, fig)}.{fmt}"


def check_formats(formats: Iterable[str], allowed: Sequence[str]) -> tuple[str, ...]:
    fmts = tuple(dict.fromkeys(f.lower() for f in formats))
    unknown = [f for f in fmts if f not in allowed]
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown} (choose from {', '.join(allowed)})")
    return fmts


def figure_images(
    figures: Mapping[str, go.Figure],
    formats: Iterable[str] = ARCHIVE_FORMATS,
    *,
    scale: float = PNG_SCALE,
    renderer: ImageRenderer | None = None,
) -> dict[str, bytes]:
    """Every figure in every format, ``{file name: bytes}`` (``heatmap_m0.25.png`` ...).

    ``renderer`` is a running :class:`ImageRenderer` to use; without one, the browser is
    checked (:func:`check_browser`) and started for this batch only. Raises
    :class:`ImageExportError` at once when the browser is missing or broken, and when
    rendering fails.
    """
    fmts = check_formats(formats, IMAGE_FORMATS)
    jobs = [
        (image_name(key, fig, fmt), fig, image_options(fig, fmt, scale=scale))
        for key, fig in figures.items()
        for fmt in fmts
    ]
    names = [name for name, _, _ in jobs]
    if len(set(names)) != len(names):
        raise ValueError(f"two figures export to the same file name: {sorted(names)}")
    if not jobs:
        return {}
    if renderer is not None:
        return renderer.render(jobs)
    with ImageRenderer(check_browser(), tabs=1) as own:  # a second tab costs more than it saves
        return own.render(jobs)


def images_zip(images: Mapping[str, bytes]) -> bytes:
    """``{file name: bytes}`` as a ZIP whose files unpack as ``rw-r--r--`` (PNGs stored, the
    rest deflated)."""
    stamp = time.localtime()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in images.items():
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.create_system = 3  # Unix: unzip applies the mode below
            info.external_attr = (0o100000 | _FILE_MODE) << 16  # a regular file, 0644
            info.compress_type = (
                zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            )
            archive.writestr(info, data)
    return buffer.getvalue()


class ImageRenderer:
    """One headless Chromium (through kaleido) that renders images for any thread.

    The browser runs in an event loop on a thread of its own. :meth:`start` launches it and
    returns at once (the first :meth:`render` waits for it), so an app can warm it up before
    the first click; :meth:`render` may be called from several threads at a time (the images
    queue for the browser's tabs); a failure closes the browser and :meth:`alive` turns False.
    Use it as a context manager for one batch, or keep one for a whole process.
    """

    def __init__(self, browser: Path, *, tabs: int = _TABS) -> None:
        self.browser = browser
        self._tabs = tabs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mpq-images", daemon=True
        )
        self._opened: Any = None  # the future of the browser's start
        self._kaleido: Any = None
        self._failed = False

    def start(self) -> ImageRenderer:
        """Launch the browser in the background (once); closed at interpreter exit at the
        latest."""
        if self._opened is None:
            self._thread.start()
            self._opened = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
            atexit.register(self.stop)
        return self

    def alive(self) -> bool:
        """Started, and neither its start nor a batch has failed."""
        if self._opened is None or self._failed or not self._thread.is_alive():
            return False
        return not (self._opened.done() and self._opened.exception() is not None)

    def render(self, jobs: Sequence[tuple[str, go.Figure, dict]]) -> dict[str, bytes]:
        """``{name: bytes}`` for ``(name, figure, image options)`` jobs."""
        self.start()
        try:
            self._opened.result(_BATCH_SECONDS)
            future = asyncio.run_coroutine_threadsafe(self._render(jobs), self._loop)
            return future.result(_BATCH_SECONDS)
        except ImageExportError:
            raise
        except TimeoutError:
            self._failed = True
            raise ImageExportError(
                f"chart images: Chromium at {self.browser} did not finish within "
                f"{_BATCH_SECONDS:g} s"
            ) from None
        except Exception as exc:
            self._failed = True
            said = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
            detail = _first_line(said) or type(exc).__name__
            raise ImageExportError(
                f"chart images: Chromium at {self.browser} failed: {detail}"
            ) from exc

    def stop(self) -> None:
        """Close the browser and end the thread (safe to call twice)."""
        if self._opened is None or not self._thread.is_alive():
            return
        with contextlib.suppress(Exception):  # the browser may be gone; the loop still stops
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(_STOP_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_STOP_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> ImageRenderer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self) -> None:
        import kaleido

        renderer = kaleido.Kaleido(
            path=str(self.browser), n=self._tabs, timeout=RENDER_SECONDS, mathjax=False
        )
        await renderer.open()
        self._kaleido = renderer

    async def _render(self, jobs: Sequence[tuple[str, go.Figure, dict]]) -> dict[str, bytes]:
        results = await asyncio.gather(
            *(self._kaleido.calc_fig(fig, opts=opts) for _, fig, opts in jobs)
        )
        return {name: data for (name, _, _), data in zip(jobs, results, strict=True)}

    async def _close(self) -> None:
        if self._kaleido is not None:
            renderer, self._kaleido = self._kaleido, None
            await renderer.close()


def _first_line(data: bytes | str | None) -> str:
    text = data.decode(errors="replace") if isinstance(data, bytes) else (data or "")
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return line if len(line) <= 160 else line[:159] + "…"
    return ""
