"""What several test modules share: the repository root and Chromium detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("BROWSER_PATH", "/usr/bin/chromium"))
IN_CI = bool(os.environ.get("CI"))


def chromium_missing() -> str | None:
    """Why chart images cannot be rendered here, or None. Under CI nothing may be skipped."""
    if CHROMIUM.exists() or IN_CI:
        return None
    return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"


needs_chromium = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")
