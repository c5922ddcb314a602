"""What several test modules share: the repository root, Chromium detection, and the config
the command line writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.local_app import CHROMIUM

REPO = Path(__file__).resolve().parents[1]
IN_CI = bool(os.environ.get("CI"))


def chromium_missing() -> str | None:
    """Why chart images cannot be rendered here, or None. Under CI nothing may be skipped."""
    if CHROMIUM.exists() or IN_CI:
        return None
    return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"


needs_chromium = pytest.mark.skipif(chromium_missing() is not None, reason=chromium_missing() or "")


def cli_config(workdir: Path, multiplier: float) -> dict:
    """The config ``main.py`` writes for the bundled sample at ``multiplier`` (run in a new
    folder ``workdir/cli``), parsed."""
    from mpq_core import config_filename

    cwd = workdir / "cli"
    cwd.mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "main.py"),
            "--optimize_mixed_precision",
            "--budget_multiplier",
            f"{multiplier:.2f}",
            "--output_dir",
            "out",
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = list((cwd / "out").rglob(config_filename(multiplier)))
    assert len(written) == 1, list((cwd / "out").rglob("*"))
    return json.loads(written[0].read_text(encoding="utf-8"))
