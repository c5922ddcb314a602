"""What every browser test module shares: Playwright's page and expect, where screenshots go,
and the selector of an app at rest (connected, no script running)."""

from __future__ import annotations

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
