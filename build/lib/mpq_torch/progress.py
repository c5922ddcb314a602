"""A progress line on stderr: redrawn in place on a terminal, a few plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_REDRAW_S = 0.2
_PLAIN_STEPS = 4  # a log gets 0%, 25%, 50%, 75% and 100%


class Progress:
    """``with Progress(total, "sensitivity") as bar: ... bar.advance()``."""

    def __init__(
        self, total: int, label: str, *, stream: TextIO | None = None, enabled: bool = True
    ):
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.total > 0
        self.done = 0
        self.started = time.perf_counter()
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0
        self._next_plain = 0

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, *exc) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()

    def advance(self, step: int = 1) -> None:
        self.done = min(self.done + step, self.total)
        self._draw(force=self.done == self.total)

    def _draw(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        if self._tty:
            now = time.perf_counter()
            if force or now - self._last_draw >= _REDRAW_S:
                self._last_draw = now
                self.stream.write("\r" + self._line())
                self.stream.flush()
            return
        # a plain line at each quarter of the work (and at the end)
        while self._next_plain <= _PLAIN_STEPS and (
            self.done * _PLAIN_STEPS >= self._next_plain * self.total
        ):
            self._next_plain += 1
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def _line(self) -> str:
        elapsed = time.perf_counter() - self.started
        pct = 100 * self.done // self.total
        eta = ""
        if 0 < self.done < self.total:
            eta = f", about {elapsed / self.done * (self.total - self.done):.0f} s left"
        return f"{self.label}: {self.done}/{self.total} ({pct}%) {elapsed:.0f} s{eta}"
