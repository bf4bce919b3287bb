"""What long commands print besides their result: a progress bar (bake, render) and the --no-watermark warning."""

from __future__ import annotations

import sys

NO_WATERMARK_WARNING = ("facecast: WARNING: --no-watermark: frames leave without the provenance mark; "
                        "nobody can check they were made by facecast")


class ProgressBar:
    """A plain progress bar on stderr, redrawn in place on a terminal, in ten steps otherwise."""

    def __init__(self, label: str, stream=None):
        # sys.stderr looked up now, not at import: a caller that redirected it (tests, a wrapper) gets the bar
        self.label, self.stream, self._last = label, stream or sys.stderr, -1

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
