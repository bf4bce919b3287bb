"""`facecast bake`: an audio file in, its animation out (JSON lines or CSV), as the live path makes it."""

from __future__ import annotations

import sys

from facecast.runtime.cli.checks import check_audio_length, check_out_file, check_rate
from facecast.runtime.engine.session import LIPS_CHOICES, LIPS_HELP

MIN_MOTION_HZ, MAX_MOTION_HZ = 1.0, 1000.0   # --motion-hz: MotionEngine's range


def cmd_bake(args) -> int:
    from facecast.runtime.cli.progress import ProgressBar
    from facecast.runtime.engine.audio.files import load_audio_16k
    from facecast.runtime.engine.motion.engine import MotionEngine
    from facecast.runtime.engine.motion.stream import bake
    from facecast.runtime.engine.motion.export import write_frames
    from facecast.runtime.engine.pipeline import make_lips

    from facecast.runtime.engine.motion.timeline import ScriptedEngine, hold_paused, load_timeline

    try:  # every argument checked before the lip model loads
        check_rate(args.motion_hz, "--motion-hz", MIN_MOTION_HZ, MAX_MOTION_HZ, 60)
        check_out_file(args.out, example="anim.jsonl")
        timeline = load_timeline(args.script) if args.script else None
        audio = load_audio_16k(args.audio)
        check_audio_length(audio, args.audio, args.motion_hz, "--motion-hz")
    except ValueError as exc:
        print(f"facecast bake: {exc}", file=sys.stderr)
        return 2
    engine = MotionEngine(rate_hz=args.motion_hz, seed=args.seed)
    if timeline is not None:
        engine = ScriptedEngine(engine, timeline)
    frames = bake(audio, make_lips(args.lips, args.device), engine, progress=ProgressBar(f"baking {args.audio}"))
    if timeline is not None:
        frames = hold_paused(frames, timeline)
    write_frames(frames, args.out)
    print(f"wrote {len(frames)} frames ({len(audio) / 16000:.2f} s at {args.motion_hz:g} Hz) to {args.out}")
    return 0


def add_parser(sub) -> None:
    """Register `bake`."""
    p = sub.add_parser("bake", help="audio file -> animation file (.jsonl or .csv)")
    p.add_argument("audio")
    p.add_argument("--out", required=True, help="anim.jsonl or anim.csv")
    p.add_argument("--lips", choices=LIPS_CHOICES, default="model", help=LIPS_HELP)
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--motion-hz", type=float, default=60.0,
                   help=f"animation frames per second ({MIN_MOTION_HZ:g}..{MAX_MOTION_HZ:g}, default 60)")
    p.add_argument("--script", metavar="TIMELINE.json",
                   help="control commands at audio times (set_emotion, set_gaze, set_head, pause, resume), "
                        "checked as the control socket checks them")
    p.set_defaults(func=cmd_bake)
