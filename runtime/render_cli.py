"""`facecast prepare`, `facecast render` and `facecast bench render`: portrait -> avatar -> talking video.
Part of the CLI (runtime/cli.py calls add_parsers); it maps options onto runtime.avatar and nothing else."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

DEFAULT_CACHE = Path.home() / ".cache" / "facecast" / "avatars"


def _prepare_args(args) -> dict:
    from facecast.runtime.avatar.prepare import parse_face_box

    return {"size": args.size, "crop_scale": args.crop_scale, "face": args.face,
            "face_box": parse_face_box(args.face_box) if args.face_box else None}


def _prepare(image_path: str, opts: dict):
    from facecast.runtime.avatar.prepare import load_portrait, prepare_avatar

    return prepare_avatar(load_portrait(image_path), Path(image_path).name, **opts)


def load_or_prepare(image_path: str, opts: dict, cache_dir: Path | None):
    """An .fca loads as is; a picture is prepared once and cached under cache_dir by content + options."""
    from facecast.runtime.avatar.prepare import Avatar

    if image_path.endswith(".fca"):
        return Avatar.load(image_path)
    if cache_dir is None:
        return _prepare(image_path, opts)
    key = hashlib.sha256(Path(image_path).read_bytes() + json.dumps(opts, sort_keys=True).encode()).hexdigest()[:20]
    cached = cache_dir / f"{key}.fca"
    if cached.exists():
        return Avatar.load(cached)
    avatar = _prepare(image_path, opts)
    avatar.save(cached)
    return avatar


def _fail(cmd: str, exc: Exception) -> int:
    print(f"facecast {cmd}: {exc}", file=sys.stderr)
    return 2


def cmd_prepare(args) -> int:
    from facecast.runtime.avatar.landmarks import NoFaceFound

    try:
        avatar = _prepare(args.image, _prepare_args(args))
    except (NoFaceFound, ValueError) as exc:
        return _fail("prepare", exc)
    out = avatar.save(args.out)
    x, y, side = avatar.meta["crop_box"]
    print(f"prepared {args.image} -> {out} ({avatar.size}x{avatar.size}, crop {side:.0f} px at {x:.0f},{y:.0f})")
    return 0


def cmd_render(args) -> int:
    import numpy as np
    import torch

    from facecast.runtime.avatar.landmarks import NoFaceFound
    from facecast.runtime.avatar.render import PortraitRenderer
    from facecast.runtime.avatar.sheet import expression_sheet, timeline_sheet
    from facecast.runtime.avatar.video import FfmpegMissing, VideoWriter
    from facecast.runtime.bake import ProgressBar, load_audio_16k

    if not args.out and not args.sheet:
        return _fail("render", ValueError("nothing to write: give --out OUT.mp4 and/or --sheet SHEET.png"))
    if args.out and not args.audio:
        return _fail("render", ValueError("--out needs --audio (the motion comes from the voice)"))
    torch.set_num_threads(args.threads)
    try:
        avatar = load_or_prepare(args.image, _prepare_args(args), None if args.no_cache else Path(args.cache_dir))
    except (NoFaceFound, ValueError, OSError) as exc:
        return _fail("render", exc)
    renderer = PortraitRenderer(avatar, device=args.device)
    title = f"{Path(args.image).name} - facecast portrait renderer, {avatar.size}x{avatar.size}"
    if not args.audio:   # an expression sheet only
        _save_png(expression_sheet(renderer, title, source=avatar.image), args.sheet)
        print(f"wrote {args.sheet}")
        return 0

    from facecast.runtime.motion.engine import MotionEngine
    from facecast.runtime.motion.stream import bake
    from facecast.runtime.pipeline import make_lips

    try:
        audio = load_audio_16k(args.audio)
    except ValueError as exc:
        return _fail("render", exc)
    motion = bake(audio, make_lips(args.lips, args.device), MotionEngine(rate_hz=args.fps, seed=args.seed),
                  progress=ProgressBar("motion"))
    picks = set(np.linspace(0, len(motion) - 1, 18).round().astype(int).tolist()) if args.sheet else set()
    sheet_tiles, sheet_labels = [], []
    writer = None
    try:
        if args.out:
            writer = VideoWriter(args.out, avatar.size, args.fps, audio=args.audio)
        bar = ProgressBar("render")
        for i, frame in enumerate(motion):
            rgb = renderer.render(frame)
            if writer:
                writer.write(rgb)
            if i in picks:
                sheet_tiles.append(rgb)
                sheet_labels.append(f"t={frame.t_audio_s:.2f}s jaw={frame.blend('jawOpen'):.2f}")
            bar(i + 1, len(motion))
        if writer:
            writer.close()
    except (FfmpegMissing, RuntimeError) as exc:
        return _fail("render", exc)
    if args.out:
        print(f"wrote {args.out}: {len(motion)} frames at {args.fps:g} fps, {len(audio) / 16000:.2f} s, audio muxed")
    if args.sheet:
        _save_png(timeline_sheet(sheet_tiles, sheet_labels, title), args.sheet)
        print(f"wrote {args.sheet}")
    return 0


def _save_png(rgb, path) -> None:
    from PIL import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def cmd_bench_render(args) -> int:
    from facecast.runtime.bench.render import bench_render

    result = bench_render(duration_s=args.duration, size=getattr(args, "size", 512) or 512,
                          device=getattr(args, "device", "auto") or "auto", threads=getattr(args, "threads", 1) or 1)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


def _prepare_options(p) -> None:
    p.add_argument("--size", type=int, default=512, help="output frame side in pixels (default 512)")
    p.add_argument("--crop-scale", type=float, default=2.3,
                   help="crop side / face size: larger shows more shoulders and background (default 2.3)")
    p.add_argument("--face", type=int, default=0, help="which face when there are several: 0 = the largest")
    p.add_argument("--face-box", help="x,y,w,h: place the face by hand when it is not detected "
                   "(pixels of the image as displayed, i.e. after EXIF rotation)")


def add_parsers(sub) -> None:
    """Register `prepare` and `render` on the CLI's subparsers."""
    p = sub.add_parser("prepare", help="portrait photo -> avatar file (.fca), once per photo")
    p.add_argument("image", help="JPEG/PNG/WebP, any size; EXIF orientation is honoured")
    p.add_argument("-o", "--out", required=True, help="avatar.fca")
    _prepare_options(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("render", help="portrait + voice -> talking-face MP4 (and/or a contact sheet)")
    p.add_argument("--image", required=True, help="a portrait (prepared once and cached) or an .fca avatar")
    p.add_argument("--audio", help="speech (wav/flac/ogg, any rate); without it --sheet shows expressions")
    p.add_argument("--out", help="OUT.mp4 (needs ffmpeg)")
    p.add_argument("--sheet", help="contact sheet PNG for a person to review")
    p.add_argument("--fps", type=float, default=30.0, help="video frame rate (default 30)")
    _prepare_options(p)
    p.add_argument("--lips", choices=["model", "energy"], default="model")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: more threads on a busy 2-core machine run slower)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help=f"prepared avatars (default {DEFAULT_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="prepare the portrait again, keep nothing")
    p.set_defaults(func=cmd_render)
