"""Real-browser fixtures: Debian's Chromium through pytest-playwright, the app on a free port.

Locally the browser tests skip, with the reason, when Chromium or Playwright is missing; with
``CI`` set they must run: a skip is turned into a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import CHROMIUM, IN_CI, REPO

from benchmarks.local_app import CHROMIUM_ARGS, AppNotStarted, running_app

LOG_DIR = REPO / "artifacts"


def _unavailable() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
        import pytest_playwright  # noqa: F401
    except ImportError:
        return "playwright/pytest-playwright not installed (pip install -r requirements-dev.txt)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _unavailable()
    if reason is None or IN_CI:
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and Path(__file__).parent in Path(item.path).parents:
        report.outcome = "failed"
        report.longrepr = f"browser test skipped although CI is set: {report.longrepr}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped:
        report.outcome = "failed"
        report.longrepr = f"browser tests skipped although CI is set: {report.longrepr}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """The system Chromium, offline (never a browser downloaded by ``playwright install``)."""
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": list(CHROMIUM_ARGS),
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_context_args,
        "accept_downloads": True,
        "viewport": {"width": 1440, "height": 900},
    }


@pytest.fixture(scope="session")
def app_url() -> Iterator[str]:
    """The dashboard served on a free loopback port for the whole session."""
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)  # turned into a failure when CI is set
    LOG_DIR.mkdir(exist_ok=True)
    try:
        with running_app(LOG_DIR / "streamlit-browser-tests.log") as url:
            yield url
    except AppNotStarted as err:
        pytest.fail(str(err))
