"""What every browser test module shares: Playwright's page and expect, where screenshots go,
and the selector of an app at rest (connected, no script running)."""

from __future__ import annotations

from pathlib import Path

import pytest
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
WAIT_MS = 60_000


def download(page: Page, trigger: sync_api.Locator, folder: Path) -> Path:
    """Click ``trigger`` and save the file it downloads in ``folder``, under the name the page
    suggests (which the caller checks)."""
    with page.expect_download(timeout=WAIT_MS) as info:
        trigger.click()
    saved = folder / info.value.suggested_filename
    info.value.save_as(saved)
    return saved
