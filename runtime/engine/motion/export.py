"""Motion frames to animation files: `.jsonl` (one JSON object per frame) or `.csv` (a header row, a row per frame)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, GAZE_FIELDS, HEAD_FIELDS, VISEME_NAMES

from .frame import MotionFrame

_HEAD_KEYS = ("pitch", "yaw", "roll", "x", "y", "z")  # HEAD_FIELDS without their unit suffixes
_GAZE_KEYS = tuple(GAZE_FIELDS)


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
