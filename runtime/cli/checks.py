"""Checks the file commands (prepare, render, bake) make on their arguments before any work starts, so a
careless value costs one line naming the fix instead of a traceback after minutes of rendering.
Each raises ValueError with that line."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

SAMPLE_RATE_HZ = 16000  # what load_audio_16k returns


def check_rate(value: float, flag: str, lo: float, hi: float, default: float) -> None:
    """`value` must lie in lo..hi (NaN and infinities fail too)."""
    if not lo <= value <= hi:
        raise ValueError(f"{flag} {value:g} outside {lo:g}..{hi:g}; {default:g} is the default")


def check_out_file(out: str | Path, flag: str = "--out", example: str = "out.mp4") -> None:
    """`out` can be written as a file: it is not a folder, no file stands where one of its folders should
    be, and the nearest existing folder takes a new file (tried for real: permissions, a read-only disk,
    /proc). Folders that do not exist yet are fine: the writers make them."""
    path = Path(out)
    if path.is_dir():
        raise ValueError(f"{flag} {out} is a folder; name a file in it, e.g. {path / example}")
    if path.exists() and not os.access(path, os.W_OK):
        raise ValueError(f"{flag} {out} exists and cannot be overwritten (permission denied); choose another "
                         f"file or make it writable")
    folder = path.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{flag} {out}: {folder} is a file, not a folder; choose a path in a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {out}: cannot write in {folder} ({exc.strerror or exc}); choose a folder you "
                         f"can write") from None


def check_audio_length(audio_16k: np.ndarray, path: str | Path, rate_hz: float, flag: str) -> None:
    """At least one frame's worth of audio (1 / rate_hz seconds): a shorter file would make an empty video
    or animation that looks like success."""
    needed = int(np.ceil(SAMPLE_RATE_HZ / rate_hz))
    if len(audio_16k) < needed:
        raise ValueError(f"audio file {path} lasts {len(audio_16k) / SAMPLE_RATE_HZ * 1000:.2f} ms, shorter than "
                         f"one frame at {flag} {rate_hz:g} ({1000 / rate_hz:.1f} ms): nothing to animate; use a "
                         f"longer recording")
