"""`facecast run` (the live runtime) and `facecast demo` (the runtime on the bundled sample, then an MP4)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT
from facecast.runtime.cli.progress import NO_WATERMARK_WARNING
from facecast.runtime.engine.session import LIPS_CHOICES, LIPS_HELP
from facecast.runtime.engine.config import DEFAULT_MAX_SESSIONS, MAX_SESSIONS_LIMIT


def _config_from_args(args):
    from facecast.runtime.engine.config import RuntimeConfig

    cfg = RuntimeConfig(session=args.session, pub_endpoint=args.pub, control_endpoint=args.control,
                        keys_dir=Path(args.keys) if args.keys else None, insecure=args.insecure,
                        lips=args.lips, device=args.device, seed=args.seed, motion_hz=args.motion_hz,
                        duration_s=args.duration, loop=args.loop, fps=args.fps, frames=not args.no_frames,
                        image=Path(args.image) if args.image else None, frame_format=args.frame_format,
                        watermark=not args.no_watermark, background=args.background,
                        script=Path(args.script) if args.script else None,
                        allow_dirs=tuple(Path(d) for d in args.allow_dir), max_sessions=args.max_sessions)
    if args.background == "transparent" and args.frame_format not in ("rgba32", "bgra32"):
        raise ValueError(f"--background transparent needs --frame-format rgba32 or bgra32 "
                         f"({args.frame_format} has no alpha)")
    if args.no_watermark:
        print(NO_WATERMARK_WARNING, file=sys.stderr)
    if args.mic is not None:
        cfg.audio_source, cfg.audio_path = "mic", None
        cfg.mic_device = int(args.mic) if args.mic.isdigit() else (args.mic or None)
    elif args.listen:
        cfg.audio_source, cfg.audio_path = "push", None
    elif args.audio:
        cfg.audio_path = Path(args.audio)
    return cfg


def _print_summary(summary: dict, received: dict | None = None) -> None:
    for sid, s in summary["sessions"].items():
        print(f"session {sid}: {s['motion_frames']} motion frames over {s['t_audio_s']:.2f} s of audio "
              f"({s['motion_fps']:.1f}/s); latency from audio arrival to publish p50 {s['latency_ms_p50']:.1f} ms, "
              f"p95 {s['latency_ms_p95']:.1f} ms (lip-model lookahead {s['lookahead_ms']:.0f} ms included)")
        if "frames" in s:
            print(f"session {sid}: {s['frames']} {s['frame_format']} frames ({s['frame_fps']:.1f}/s), "
                  f"{s['dropped_frames']} dropped; audio arrival to frame published p50 "
                  f"{s['frame_latency_ms_p50']:.1f} ms, p95 {s['frame_latency_ms_p95']:.1f} ms; "
                  f"render + encode p50 {s['render_ms_p50']:.1f} ms")
    if received is not None:
        print(f"a local subscriber received {received['count']} motion messages and {received['frames']} frames; "
              f"motion transport latency p50 {received['p50_ms']:.2f} ms, p99 {received['p99_ms']:.2f} ms")
    print(f"runtime CPU use: {summary['cpu_percent']:.0f}% of one core")


def _run_runtime(args, watch: bool) -> tuple[int, dict | None]:
    """Run the runtime from CLI options; returns (exit status, summary). With `watch`, an in-process
    subscriber proves the stream is on the wire and measures the transport."""
    import numpy as np

    from facecast.bridge.security import InsecureBindError
    from facecast.runtime.engine.pipeline import Runtime

    import zmq

    from facecast.runtime.engine.audio.mic import DeviceNotFound
    from facecast.runtime.engine.avatar.landmarks import NoFaceFound

    try:
        runtime = Runtime(_config_from_args(args))
    except zmq.ZMQError as exc:  # most often another runtime on the same port
        print(f"facecast: cannot bind {args.pub} / {args.control}: {exc}; is another `facecast run` using "
              f"them? pick free ports with --pub and --control", file=sys.stderr)
        return 2, None
    except (InsecureBindError, FileNotFoundError, ValueError, OSError, NoFaceFound) as exc:
        print(f"facecast: {exc}", file=sys.stderr)
        return 2, None
    print(f"publishing on {runtime.publisher.endpoint}, control on {runtime.control.endpoint}; "
          f"watch with `facecast listen {runtime.publisher.endpoint}`", flush=True)
    if watch:
        from facecast.bridge import Subscriber

        latencies: list[float] = []
        frames_seen = [0]
        sub = Subscriber(runtime.publisher.endpoint, kinds=("motion", "frame"), keys_dir=args.keys,
                         param_queue=10_000)
        sub.start(on_motion=lambda m: latencies.append((m.stamp.recv_wall_s - m.stamp.t_wall_s) * 1000),
                  on_frame=lambda f: frames_seen.__setitem__(0, frames_seen[0] + 1))
    try:
        summary = runtime.run()
    except DeviceNotFound as exc:
        print(f"facecast: {exc}", file=sys.stderr)
        return 2, None
    if watch:
        import time

        time.sleep(0.2)  # let the last messages arrive
        sub.close()
        lat = np.array(latencies or [np.nan])
        summary["received"] = {"count": len(latencies), "frames": frames_seen[0],
                               "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99))}
    return 0, summary


def _report_summary(args, summary: dict) -> None:
    if args.json:
        print(json.dumps(summary))
    else:
        _print_summary(summary, summary.get("received"))


def cmd_run(args) -> int:
    status, summary = _run_runtime(args, watch=False)
    if summary is not None:
        _report_summary(args, summary)
    return status


def _render(argv: list[str]) -> int:
    """`facecast render ARGV...`, parsed by the render command's own parser."""
    from facecast.runtime.cli import render

    parser = argparse.ArgumentParser(prog="facecast")
    render.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["render", *argv])
    return args.func(args)


def cmd_demo(args) -> int:
    """The main job on the bundled sample: stream motion and frames live, write an MP4, summarise."""
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT, SAMPLE_SPEECH

    if not args.image and not args.no_frames:
        args.image = str(SAMPLE_PORTRAIT)
    what = "motion and 512x512 frames" if args.image and not args.no_frames else "motion parameters"
    print(f"facecast demo: streaming {SAMPLE_SPEECH.name} as live {what} (real-time pace)")
    status, summary = _run_runtime(args, watch=True)
    if status:
        return status
    if not args.no_video:
        out = Path(args.out_dir)
        portrait = args.image or str(SAMPLE_PORTRAIT)
        print(f"\nrendering {Path(portrait).name} talking to {SAMPLE_SPEECH.name} -> {out}/demo.mp4", flush=True)
        status = _render(["--image", portrait, "--audio", str(SAMPLE_SPEECH),
                           "--out", str(out / "demo.mp4"), "--sheet", str(out / "demo_sheet.png")]
                          + (["--no-watermark"] if args.no_watermark else []))
    print("\nlive run:")
    _report_summary(args, summary)
    return status


def add_parser(sub) -> None:
    """Register `run` and `demo`."""
    for name, func, helptext in (("run", cmd_run, "run the live runtime: audio in, motion on the wire"),
                                 ("demo", cmd_demo, "run the runtime on the bundled sample speech and summarise")):
        p = sub.add_parser(name, help=helptext)
        src = p.add_mutually_exclusive_group()
        src.add_argument("--audio", help="audio file (wav/flac/ogg, any rate), played in real time")
        src.add_argument("--mic", nargs="?", const="", help="microphone: name substring or index (default device)")
        src.add_argument("--listen", action="store_true", help="audio pushed over the control socket (push_audio)")
        p.add_argument("--loop", action="store_true", help="loop the audio file")
        p.add_argument("--image", help="portrait (JPEG/PNG/WebP or a prepared .fca): publish rendered frames too")
        p.add_argument("--fps", type=int, default=30, help="video frames per second (1..60, default 30)")
        p.add_argument("--no-frames", action="store_true", help="parameters only, even with --image")
        p.add_argument("--frame-format", choices=["jpeg", "rgb24", "rgba32", "bgra32"], default="jpeg",
                       help="jpeg (default) or raw rgb24; rgba32 / bgra32 carry alpha (--background transparent)")
        p.add_argument("--background", choices=["keep", "transparent"], default="keep",
                       help="keep the portrait's background (default) or make it transparent (rgba32/bgra32 only)")
        p.add_argument("--script", metavar="TIMELINE.json",
                       help="control commands at audio times ([{\"t\": s, \"command\": ..., \"args\": {...}}]), "
                            "played on the default session")
        p.add_argument("--no-watermark", action="store_true",
                       help="leave frames without the provenance mark (warns every run; see README)")
        p.add_argument("--session", default="default")
        p.add_argument("--pub", default=DEFAULT_PUB_ENDPOINT, help="stream endpoint to bind")
        p.add_argument("--control", default=DEFAULT_CONTROL_ENDPOINT, help="control endpoint to bind")
        p.add_argument("--keys", help="CURVE key folder (required to bind beyond 127.0.0.1, see `facecast keys`)")
        p.add_argument("--insecure", action="store_true", help="bind beyond 127.0.0.1 without keys (warns)")
        p.add_argument("--allow-dir", action="append", default=[], metavar="DIR",
                       help="folder whose images/.fca files control clients may name (create_session image=, "
                            "set_avatar path=); repeatable; default: none, clients send the bytes instead")
        p.add_argument("--max-sessions", type=int, default=DEFAULT_MAX_SESSIONS,
                       help=f"most sessions at once, the default one included (1..{MAX_SESSIONS_LIMIT}, "
                            f"default {DEFAULT_MAX_SESSIONS})")
        p.add_argument("--lips", choices=LIPS_CHOICES, default="model", help=LIPS_HELP)
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--motion-hz", type=float, default=60.0)
        p.add_argument("--duration", type=float, help="stop after this many seconds")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")
        if name == "demo":
            p.add_argument("--out-dir", default="out", help="where the demo writes demo.mp4 and demo_sheet.png")
            p.add_argument("--no-video", action="store_true", help="stream only; skip the MP4")
        p.set_defaults(func=func)
