"""The dashboard served on a free loopback port, for the benchmarks and the browser tests.

    process, url = start_app(log_path)   # waits until /_stcore/health says ok
    ...
    stop_app(process)                    # its whole process group, by its pid

The server runs headless, without usage statistics or a file watcher, in a session of its own
(so that stopping it also stops what it started). Nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 90
CHROMIUM = Path(os.environ.get("BROWSER_PATH", "/usr/bin/chromium"))  # Debian's, never a download
# how the browser tests and bench_browser start it: no sandbox (containers), no GPU, nothing
# fetched in the background
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


class AppNotStarted(RuntimeError):
    """The server exited or stayed unhealthy; the message holds its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


def dashboard_command(port: int) -> list[str]:
    """Streamlit serving the clone's dashboard on ``port`` (127.0.0.1, no file watcher)."""
    return [
        sys.executable, "-m", "streamlit", "run", "mpq_app/dashboard.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
    ]  # fmt: skip


def start_app(
    log: Path | None = None,
    *,
    timeout: float = STARTUP_SECONDS,
    command: Callable[[int], list[str]] = dashboard_command,
    cwd: Path = REPO,
    env: dict[str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the dashboard with ``command(port)`` in ``cwd``; its output goes to ``log``
    (discarded when None). Returns the process and the app's URL once healthy; raises
    :class:`AppNotStarted` (the server stopped) when it exits or is not healthy within
    ``timeout`` seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    try:
        process = subprocess.Popen(
            command(port),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        if log is not None:
            out.close()
    deadline = time.monotonic() + timeout
    while not healthy(url):
        code = process.poll()
        if code is not None or time.monotonic() > deadline:
            stop_app(process)
            why = (
                f"streamlit exited with {code}"
                if code is not None
                else f"streamlit not healthy after {timeout:.0f} s"
            )
            shown = log.read_text(errors="replace") if log is not None else "(no log kept)"
            raise AppNotStarted(f"{why}:\n{shown}")
        time.sleep(0.25)
    return process, url


@contextmanager
def running_app(log: Path | None = None, **options: Any) -> Iterator[str]:
    """The app's URL while the block runs (``start_app``'s options), stopped after whatever
    happens; raises :class:`AppNotStarted` as ``start_app`` does."""
    process, url = start_app(log, **options)
    try:
        yield url
    finally:
        stop_app(process)


@contextmanager
def benchmarked_app() -> Iterator[str]:
    """For a benchmark script: Chromium looked for, then the clone's app served with its log in
    a temporary folder; either failing ends the script with one line."""
    if not CHROMIUM.exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    log = Path(tempfile.mkdtemp(prefix="mpq-bench-")) / "streamlit.log"
    try:
        with running_app(log) as url:
            yield url
    except AppNotStarted as err:
        raise SystemExit(f"the app did not start: {err}") from None


def stop_app(process: subprocess.Popen[bytes]) -> None:
    """Terminate the app's whole process group, then kill it if it lingers."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)
    except ProcessLookupError:
        pass
