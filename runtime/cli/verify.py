"""`facecast verify FILE`: is facecast's provenance mark in this image or video, and what does it say?

Exit status: 0 the mark is there, 1 it is not, 2 the file could not be read."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

MAX_FILE_BYTES = 4 << 30       # 4 GiB
MAX_SIDE_PX = 8192             # refuse before decoding anything larger
MAX_FRAMES = 16                # frames of a video examined, one every FRAME_STEP
FRAME_STEP = 8


class Unreadable(Exception):
    """The file is missing, too large, or neither PIL nor ffmpeg can decode it; the message says which."""


def _read_image(path: Path):
    import numpy as np
    from PIL import Image

    with Image.open(path) as img:  # header only so far: check the size before decoding pixels
        if max(img.size) > MAX_SIDE_PX:
            raise Unreadable(f"{path}: {img.size[0]}x{img.size[1]} is larger than {MAX_SIDE_PX} px a side")
        if getattr(img, "n_frames", 1) > 1:
            raise ValueError("animated: read it as a video")
        return [np.asarray(img.convert("RGB"))]


def _read_video(path: Path):
    import numpy as np

    if shutil.which("ffprobe") is None or shutil.which("ffmpeg") is None:
        raise Unreadable(f"{path}: not a picture PIL reads, and ffmpeg is not installed to read it as a video")
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                            "stream=width,height", "-of", "json", str(path)], capture_output=True, text=True, timeout=60)
    streams = json.loads(probe.stdout or "{}").get("streams") or []
    if probe.returncode != 0 or not streams:
        raise Unreadable(f"{path}: ffmpeg finds no video in it ({probe.stderr.strip()[:200] or 'no video stream'})")
    w, h = int(streams[0]["width"]), int(streams[0]["height"])
    if not (0 < w <= MAX_SIDE_PX and 0 < h <= MAX_SIDE_PX):
        raise Unreadable(f"{path}: {w}x{h} video is outside 1..{MAX_SIDE_PX} px a side")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-vf",
                          f"select=not(mod(n\\,{FRAME_STEP}))", "-fps_mode", "passthrough", "-frames:v", str(MAX_FRAMES),
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=300)
    n = len(raw.stdout) // (w * h * 3)
    if n == 0:
        raise Unreadable(f"{path}: ffmpeg decoded no frame ({raw.stderr.decode(errors='replace').strip()[:200]})")
    return list(np.frombuffer(raw.stdout[:n * w * h * 3], np.uint8).reshape(n, h, w, 3))


def read_frames(path: Path):
    """Image -> [one (H, W, 3) uint8 frame]; video -> up to MAX_FRAMES frames. Raises Unreadable."""
    if not path.is_file():
        raise Unreadable(f"{path}: no such file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise Unreadable(f"{path}: {path.stat().st_size} bytes is more than {MAX_FILE_BYTES} (4 GiB)")
    try:
        return _read_image(path)
    except Unreadable:
        raise
    except Exception:  # not a still picture PIL knows: let ffmpeg try
        return _read_video(path)


def cmd_verify(args) -> int:
    from facecast.runtime.engine.provenance import detect

    path = Path(args.file)
    try:
        frames = read_frames(path)
    except (Unreadable, subprocess.TimeoutExpired, OSError) as exc:
        if args.json:
            print(json.dumps({"file": str(path), "error": str(exc)}))
        else:
            print(f"facecast verify: {exc}", file=sys.stderr)
        return 2
    found = detect(frames)
    report = {"file": str(path), "frames_examined": len(frames), **found.as_dict()}
    if args.json:
        print(json.dumps(report))
    elif found.present:
        p = report["payload"]
        says = (f"made by facecast {p['version']} on installation {p['installation_id']}" if p else
                "payload not readable from this copy")
        print(f"{path}: facecast mark PRESENT (confidence {found.confidence:.3f}, score {found.score:.1f}); {says}")
    else:
        print(f"{path}: no facecast mark found (score {found.score:.1f}; unmarked files score below ~6)")
    return 0 if found.present else 1


def add_parser(sub) -> None:
    """Register `verify` on the CLI's subparsers."""
    p = sub.add_parser("verify", help="check a picture or video for facecast's provenance mark")
    p.add_argument("file", help="an image or a video (anything ffmpeg reads)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_verify)
