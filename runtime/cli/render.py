"""`facecast prepare`, `facecast render` and `facecast bench render`: portrait -> avatar -> talking video.
The CLI (runtime/cli/__init__.py) calls add_parsers; this maps options onto the engine's avatar package."""

from __future__ import annotations

import sys
from pathlib import Path

from facecast.runtime.cli.checks import check_audio_length, check_out_file, check_rate
from facecast.runtime.engine.session import LIPS_CHOICES, LIPS_HELP
from facecast.runtime.engine.avatar.cache import DEFAULT_CACHE, load_or_prepare, prepare_file, usable_renderer

MIN_FPS, MAX_FPS = 1.0, 120.0   # --fps: what players and editors take; the motion runs at the same rate


def _prepare_args(args) -> dict:
    from facecast.runtime.engine.avatar.prepare import parse_face_box

    return {"size": args.size, "crop_scale": args.crop_scale, "face": args.face,
            "face_box": parse_face_box(args.face_box) if args.face_box else None}


def _fail(cmd: str, exc: Exception) -> int:
    print(f"facecast {cmd}: {exc}", file=sys.stderr)
    return 2


def cmd_prepare(args) -> int:
    from facecast.runtime.engine.avatar.landmarks import NoFaceFound

    try:
        check_out_file(args.out, "-o/--out", "avatar.fca")
        avatar = prepare_file(args.image, _prepare_args(args))
    except (NoFaceFound, ValueError) as exc:
        return _fail("prepare", exc)
    out = avatar.save(args.out)
    x, y, side = avatar.meta["crop_box"]
    print(f"prepared {args.image} -> {out} ({avatar.size}x{avatar.size}, crop {side:.0f} px at {x:.0f},{y:.0f})")
    return 0


def cmd_render(args) -> int:
    import numpy as np
    import torch

    from facecast.runtime.engine.avatar.landmarks import NoFaceFound
    from facecast.runtime.engine.avatar.sheet import expression_sheet, timeline_sheet
    from facecast.runtime.engine.avatar.video import FfmpegMissing, PngSequenceWriter, VideoWriter, check_video_out
    from facecast.runtime.engine.motion.timeline import ScriptedEngine, hold_paused, load_timeline
    from facecast.runtime.cli.progress import ProgressBar
    from facecast.runtime.engine.audio.files import load_audio_16k

    if not args.out and not args.sheet:
        return _fail("render", ValueError("nothing to write: give --out OUT.mp4 and/or --sheet SHEET.png"))
    if args.out and not args.audio:
        return _fail("render", ValueError("--out needs --audio (the motion comes from the voice)"))
    if args.script and not args.audio:
        return _fail("render", ValueError("--script needs --audio (its times are seconds of that audio)"))
    transparent = args.background == "transparent"
    timeline = audio = None
    try:  # every argument checked, and the audio read, before the portrait is prepared
        check_rate(args.fps, "--fps", MIN_FPS, MAX_FPS, 30)
        check_rate(args.threads, "--threads", 1, 256, 1)
        if args.out:
            check_video_out(args.out, alpha=transparent)
            check_out_file(args.out)
        if args.sheet:
            check_out_file(args.sheet, "--sheet", "sheet.png")
        if args.script:
            timeline = load_timeline(args.script)
        if args.audio:
            audio = load_audio_16k(args.audio)
            check_audio_length(audio, args.audio, args.fps, "--fps")
    except ValueError as exc:
        return _fail("render", exc)
    torch.set_num_threads(args.threads)
    try:
        avatar = load_or_prepare(args.image, _prepare_args(args), None if args.no_cache else Path(args.cache_dir))
    except (NoFaceFound, ValueError, OSError) as exc:
        return _fail("render", exc)
    try:
        renderer = usable_renderer(avatar, args.device, args.image)
    except ValueError as exc:
        return _fail("render", exc)
    from facecast.runtime.engine.config import config_dir
    from facecast.runtime.engine.provenance import Marker, this_installation

    installation = this_installation(config_dir())  # the mark's payload and the content credentials' signer
    if args.no_watermark:  # the invisible mark only: the file's content credentials are still signed
        from facecast.runtime.cli.progress import NO_WATERMARK_WARNING

        print(NO_WATERMARK_WARNING, file=sys.stderr)
        mark = None
    else:
        mark = Marker(installation).mark
    title = f"{Path(args.image).name} - facecast portrait renderer, {avatar.size}x{avatar.size}"
    if not args.audio:   # an expression sheet only
        _save_png(expression_sheet(renderer, title, source=avatar.image), args.sheet)
        print(f"wrote {args.sheet}")
        return 0

    from facecast.runtime.engine.motion.engine import MotionEngine
    from facecast.runtime.engine.motion.stream import bake
    from facecast.runtime.engine.pipeline import make_lips

    engine = MotionEngine(rate_hz=args.fps, seed=args.seed)
    if timeline is not None:
        engine = ScriptedEngine(engine, timeline)
    motion = bake(audio, make_lips(args.lips, args.device), engine, progress=ProgressBar("motion"))
    if timeline is not None:
        motion = hold_paused(motion, timeline)
    picks = set(np.linspace(0, len(motion) - 1, 18).round().astype(int).tolist()) if args.sheet else set()
    sheet_tiles, sheet_labels = [], []
    writer = None
    try:
        if args.out and Path(args.out).suffix.lower() == ".png":
            writer = PngSequenceWriter(args.out, avatar.size, alpha=transparent)
        elif args.out:
            writer = VideoWriter(args.out, avatar.size, args.fps, audio=args.audio, alpha=transparent)
        bar = ProgressBar("render")
        for i, frame in enumerate(motion):
            if transparent:
                out = renderer.render_rgba(frame)
                if mark is not None:
                    out[..., :3] = mark(np.ascontiguousarray(out[..., :3]))
                rgb = _on_checkerboard(out) if i in picks else None
            else:
                out = rgb = renderer.render(frame)
                if mark is not None:
                    out = rgb = mark(rgb)
            if writer:
                writer.write(out)
            if i in picks:
                sheet_tiles.append(rgb)
                sheet_labels.append(f"t={frame.t_audio_s:.2f}s jaw={frame.blend('jawOpen'):.2f}")
            bar(i + 1, len(motion))
        if writer:
            writer.close()
    except (FfmpegMissing, RuntimeError) as exc:
        return _fail("render", exc)
    if args.out:
        muxed = "PNG frames, audio not kept" if Path(args.out).suffix.lower() == ".png" else "audio muxed"
        print(f"wrote {args.out}: {len(motion)} frames at {args.fps:g} fps, {len(audio) / 16000:.2f} s, {muxed}"
              + (", transparent background" if transparent else ""))
    if args.out:
        from facecast.runtime.engine.provenance.credentials import CredentialsFailed, add_credentials

        try:  # once the file is complete: the C2PA hash covers all of it
            print(add_credentials(Path(args.out), config_dir(), installation, watermarked=mark is not None))
        except CredentialsFailed as exc:
            return _fail("render", exc)
    if args.sheet:
        _save_png(timeline_sheet(sheet_tiles, sheet_labels, title), args.sheet)
        print(f"wrote {args.sheet}")
    return 0


def _on_checkerboard(rgba, cell_px: int = 16):
    """(S, S, 4) uint8 -> (S, S, 3) over a grey checkerboard, as image editors show transparency."""
    import numpy as np

    s = rgba.shape[0]
    yy, xx = np.mgrid[:s, :s] // cell_px
    board = np.where(((yy + xx) % 2)[..., None] == 0, 200.0, 150.0)
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    return (rgba[..., :3] * a + board * (1.0 - a) + 0.5).astype(np.uint8)


def _save_png(rgb, path) -> None:
    from PIL import Image

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


def _prepare_options(p) -> None:
    p.add_argument("--size", type=int, default=512, help="output frame side in pixels (default 512)")
    p.add_argument("--crop-scale", type=float, default=2.3,
                   help="crop side / face size: larger shows more shoulders and background (default 2.3)")
    p.add_argument("--face", type=int, default=0, help="which face when there are several: 0 = the largest; "
                   "faces of about the same size count from the left")
    p.add_argument("--face-box", help="x,y,w,h: place the face by hand when it is not detected "
                   "(pixels of the image as displayed, i.e. after EXIF rotation)")


def add_parser(sub) -> None:
    """Register `prepare` and `render` on the CLI's subparsers."""
    p = sub.add_parser("prepare", help="portrait photo -> avatar file (.fca), once per photo")
    p.add_argument("image", help="JPEG/PNG/WebP, any size; EXIF orientation is honoured")
    p.add_argument("-o", "--out", required=True, help="avatar.fca")
    _prepare_options(p)
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("render", help="portrait + voice -> talking-face MP4 (and/or a contact sheet)")
    p.add_argument("--image", required=True, help="a portrait (prepared once and cached) or an .fca avatar")
    p.add_argument("--audio", help="speech (wav/flac/ogg, any rate); without it --sheet shows expressions")
    p.add_argument("--out", help="OUT.mp4 (H.264), OUT.webm (VP9; with alpha when --background transparent) "
                   "(both need ffmpeg), or a PNG sequence such as frames/%%05d.png")
    p.add_argument("--background", choices=["keep", "transparent"], default="keep",
                   help="keep the portrait's background (default) or make it transparent (.webm or PNG out)")
    p.add_argument("--script", metavar="TIMELINE.json",
                   help="control commands at audio times (set_emotion, set_gaze, set_head, pause, resume)")
    p.add_argument("--sheet", help="contact sheet PNG for a person to review")
    p.add_argument("--fps", type=float, default=30.0, help=f"video frame rate ({MIN_FPS:g}..{MAX_FPS:g}, default 30)")
    _prepare_options(p)
    p.add_argument("--lips", choices=LIPS_CHOICES, default="model", help=LIPS_HELP)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: more threads on a busy 2-core machine run slower)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE), help=f"prepared avatars (default {DEFAULT_CACHE})")
    p.add_argument("--no-cache", action="store_true", help="prepare the portrait again, keep nothing")
    p.add_argument("--no-watermark", action="store_true",
                   help="write frames without the invisible provenance mark (warns every run; the file's "
                   "content credentials are still signed; see README)")
    p.set_defaults(func=cmd_render)
