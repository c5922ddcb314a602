"""Deterministic JSON output: fixed key order, floats rounded to significant digits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mpq_core import write_text_atomic

SIGNIFICANT = 6


def rounded(value: float) -> float:
    """``value`` to 6 significant digits, so tiny float noise does not change the bytes."""
    return float(f"{value:.{SIGNIFICANT}g}")


def dumps(document: Any) -> str:
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


def write_json(path: str | Path, document: Any) -> Path:
    """Write atomically (``json.dumps(indent=2)`` + newline)."""
    return write_text_atomic(Path(path), dumps(document))
