"""`facecast verify FILE`: does this image or video carry facecast's provenance, and what does it say?

Two independent checks: the invisible mark in the pixels (survives re-encoding, says facecast + installation
id), and the content credentials (a signed C2PA manifest that `render` embeds in MP4/MOV files: lost when the
file is re-encoded, but any change to the signed file is detected).

Exit status: 0 the mark is there or the file has valid facecast credentials, 1 neither, 2 the file could
not be read."""

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


SELF_SIGNED_NOTE = ("a self-signed installation key proves which facecast installation signed (whoever holds "
                    "its key file), not who the person is")


def _credentials(path: Path):
    from facecast.runtime.engine.config import config_dir
    from facecast.runtime.engine.provenance.credentials import read_credentials
    from facecast.runtime.engine.provenance.signing_key import own_root

    # this installation's root (if it has one) is the only trusted anchor: "signed here" vs "signed elsewhere"
    return read_credentials(path, own_root(config_dir()))


def _describe_credentials(path: Path, cred) -> str:
    if not cred.present:
        return f"{path}: no content credentials (no C2PA manifest in the file)"
    if cred.error:
        return f"{path}: content credentials PRESENT but INVALID: the manifest cannot be read ({cred.error})"
    source = (cred.digital_source_type or "").rsplit("/", 1)[-1] or "not stated"
    says = (f"claim generator {cred.claim_generator or 'not stated'}; source type {source}"
            + (f"; installation {cred.installation_id}" if cred.installation_id else "")
            + ("" if cred.invisible_watermark is None else
               f"; frames {'carry' if cred.invisible_watermark else 'do not carry'} the invisible mark"))
    if cred.valid:
        who = ("signed with THIS installation's key" if cred.signed_here else
               f"signed by '{cred.signer}', a key nobody vouches for")
        return (f"{path}: content credentials PRESENT, signature VALID, content unchanged since signing; {says}; "
                f"{who}\n  note: {SELF_SIGNED_NOTE}")
    why = []
    if not cred.signature_valid:
        why.append("the signature does not verify")
    if not cred.content_unchanged:
        why.append("the content was changed after signing")
    return (f"{path}: content credentials PRESENT but INVALID: {', '.join(why) or 'see failures'} "
            f"(failures: {', '.join(cred.failures) or 'none listed'}); it claims: {says}")


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
    cred = _credentials(path)
    report = {"file": str(path), "frames_examined": len(frames), **found.as_dict(),
              "credentials": {**cred.as_dict(), "note": SELF_SIGNED_NOTE if cred.valid else None}}
    if args.json:
        print(json.dumps(report))
    else:
        if found.present:
            p = report["payload"]
            says = (f"made by facecast {p['version']} on installation {p['installation_id']}" if p else
                    "payload not readable from this copy")
            print(f"{path}: facecast mark PRESENT (confidence {found.confidence:.3f}, score {found.score:.1f}); {says}")
        else:
            print(f"{path}: no facecast mark found (score {found.score:.1f}; unmarked files score below ~6)")
        print(_describe_credentials(path, cred))
    # the exit status is the invisible mark's (it survives re-encoding); credentials are reported beside it
    return 0 if found.present else 1


def add_parser(sub) -> None:
    """Register `verify` on the CLI's subparsers."""
    p = sub.add_parser("verify", help="check a picture or video for facecast's provenance mark and content "
                       "credentials")
    p.add_argument("file", help="an image or a video (anything ffmpeg reads)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_verify)
