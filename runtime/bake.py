"""`facecast bake`: an audio file in, its animation out (JSON lines or CSV), as the live path makes it."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, GAZE_FIELDS, HEAD_FIELDS, VISEME_NAMES
from facecast.runtime.motion.frame import MotionFrame

log = logging.getLogger(__name__)

_HEAD_KEYS = ("pitch", "yaw", "roll", "x", "y", "z")  # HEAD_FIELDS without their unit suffixes
_GAZE_KEYS = tuple(GAZE_FIELDS)


def load_audio_16k(path: str | Path) -> np.ndarray:
    """Any file libsndfile reads (wav/flac/ogg, any rate, any channels) -> (n,) float32 16 kHz mono.

    Raises AudioFileError for a missing, unreadable or empty file. NaN / infinite samples (possible only in
    float files) are set to 0 and counted in a logged warning: one bad sample must not void a long bake,
    and a NaN would otherwise spread through the resampler and the mel features.
    """
    from facecast.runtime.audio import StreamResampler, to_mono
    from facecast.runtime.audio.sources import AudioFileError

    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise AudioFileError(f"cannot read audio file {path}: {exc}; convert it with "
                             f"`sox {path} -r 16000 -c 1 out.wav`") from None
    if len(data) == 0:
        raise AudioFileError(f"audio file {path} contains no samples (0 frames); record or export it again")
    bad = ~np.isfinite(data)
    if bad.any():
        log.warning("%s: %d non-finite samples (NaN/inf) set to 0", path, int(bad.sum()))
        data = np.where(bad, np.float32(0.0), data)
    mono = to_mono(data)
    if rate == 16000:
        return mono.astype(np.float32)
    resampler = StreamResampler(int(rate), 16000)
    return np.concatenate([resampler.process(mono), resampler.flush()]).astype(np.float32)


def frame_record(frame: MotionFrame) -> dict:
    """The JSON object of one frame: t, blendshapes (all 52), head, gaze, visemes."""
    return {
        "t": round(frame.t_audio_s, 6),
        "blendshapes": {n: round(float(v), 5) for n, v in zip(BLENDSHAPE_NAMES, frame.blendshapes)},
        "head": {k: round(float(v), 5) for k, v in zip(_HEAD_KEYS, frame.head)},
        "gaze": {k: round(float(v), 5) for k, v in zip(_GAZE_KEYS, frame.gaze)},
        "visemes": {n: round(float(v), 5) for n, v in zip(VISEME_NAMES, frame.visemes)},
        "speaking": frame.speaking,
    }


def write_frames(frames: list[MotionFrame], out: str | Path) -> None:
    """`.jsonl`: one JSON object per line; `.csv`: a header row then one row per frame."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        columns = (["t"] + list(BLENDSHAPE_NAMES) + [f"head_{h}" for h in HEAD_FIELDS]
                   + [f"gaze_{g}" for g in GAZE_FIELDS] + [f"viseme_{v}" for v in VISEME_NAMES] + ["speaking"])
        with out.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for fr in frames:
                w.writerow([f"{fr.t_audio_s:.6f}"] + [f"{v:.5f}" for v in
                           np.concatenate([fr.blendshapes, fr.head, fr.gaze, fr.visemes])] + [int(fr.speaking)])
    else:
        with out.open("w") as f:
            for fr in frames:
                f.write(json.dumps(frame_record(fr)) + "\n")


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
