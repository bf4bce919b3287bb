"""A plain progress bar for long commands (bake, render)."""

from __future__ import annotations

import sys


class ProgressBar:
    """A plain progress bar on stderr, redrawn in place on a terminal, in ten steps otherwise."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label, self.stream, self._last = label, stream, -1

    def __call__(self, done: int, total: int) -> None:
        pct = int(100 * done / max(total, 1))
        tty = self.stream.isatty()
        if pct == self._last or (not tty and pct % 10 and pct != 100):
            return
        self._last = pct
        bar = "#" * (pct // 4)
        end = "\n" if pct >= 100 or not tty else ""
        self.stream.write(f"\r{self.label} [{bar:<25}] {pct:3d}%{end}")
        self.stream.flush()
