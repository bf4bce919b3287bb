"""The `facecast` command line. The only module that reads argv; it maps options onto library calls."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT


def _parse_value(text: str):
    """`ctl` argument values: JSON when it parses (numbers, true/false, quoted strings), else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def cmd_listen(args) -> int:
    from facecast.runtime.listen import listen

    if args.control:
        _print_info(args.control, args.keys)
    totals = listen(args.endpoint, session=args.session, duration_s=args.duration, keys_dir=args.keys)
    return 0 if sum(totals["received"].values()) else 1


def _print_info(endpoint: str, keys_dir) -> None:
    from facecast.bridge.control import ControlClient

    with ControlClient(endpoint, keys_dir=keys_dir) as client:
        try:
            info = client.info()
        except TimeoutError as exc:
            print(f"control: {exc}")
            return
    print(f"control {endpoint}: {info['server']}, protocol {info['protocol']}, "
          f"capabilities: {', '.join(info['capabilities']) or '-'}, sessions: {info.get('sessions', '-')}")


def cmd_ctl(args) -> int:
    from facecast.bridge.control import ControlClient, ControlError

    cmd_args = {}
    for item in args.args:
        key, sep, value = item.partition("=")
        if not sep:
            print(f"facecast ctl: expected NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        cmd_args[key] = _parse_value(value)
    payload = open(args.payload, "rb").read() if args.payload else b""
    with ControlClient(args.endpoint, keys_dir=args.keys) as client:
        try:
            result = client.request(args.command, payload=payload, **cmd_args)
        except (ControlError, TimeoutError) as exc:
            print(f"facecast ctl {args.command}: {exc}", file=sys.stderr)
            return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def cmd_keys(args) -> int:
    from facecast.bridge.security import make_keys

    folder = make_keys(args.dir)
    print(f"keys written to {folder}/\n"
          f"  runtime:  facecast run ... --bind-host 0.0.0.0 --keys {folder}\n"
          f"  clients need {folder}/server.key and {folder}/client.key_secret "
          f"(add more client public keys to {folder}/authorized/)")
    return 0


def cmd_devices(args) -> int:
    from facecast.runtime.audio.mic import list_devices

    devices = list_devices()
    if not devices:
        print("no audio input devices found (PortAudio sees none); check that a microphone is connected "
              "and that this user may open it")
        return 1
    for dev in devices:
        print(dev)
    return 0


def _config_from_args(args):
    from pathlib import Path

    from facecast.runtime.config import RuntimeConfig

    cfg = RuntimeConfig(session=args.session, pub_endpoint=args.pub, control_endpoint=args.control,
                        keys_dir=Path(args.keys) if args.keys else None, insecure=args.insecure,
                        lips=args.lips, device=args.device, seed=args.seed, motion_hz=args.motion_hz,
                        duration_s=args.duration, loop=args.loop, fps=args.fps, frames=not args.no_frames,
                        image=Path(args.image) if args.image else None, frame_format=args.frame_format)
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
    from facecast.runtime.pipeline import Runtime

    try:
        runtime = Runtime(_config_from_args(args))
    except (InsecureBindError, FileNotFoundError, ValueError, OSError) as exc:
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
    summary = runtime.run()
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


def cmd_demo(args) -> int:
    """The main job on the bundled sample: stream motion and frames live, write an MP4, summarise."""
    from facecast.runtime.config import SAMPLE_PORTRAIT, SAMPLE_SPEECH

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
        status = main(["render", "--image", portrait, "--audio", str(SAMPLE_SPEECH),
                       "--out", str(out / "demo.mp4"), "--sheet", str(out / "demo_sheet.png")])
    print("\nlive run:")
    _report_summary(args, summary)
    return status


def cmd_bake(args) -> int:
    from facecast.runtime.bake import ProgressBar, load_audio_16k, write_frames
    from facecast.runtime.motion.engine import MotionEngine
    from facecast.runtime.motion.stream import bake
    from facecast.runtime.pipeline import make_lips

    try:
        audio = load_audio_16k(args.audio)
    except ValueError as exc:
        print(f"facecast bake: {exc}", file=sys.stderr)
        return 2
    frames = bake(audio, make_lips(args.lips, args.device), MotionEngine(rate_hz=args.motion_hz, seed=args.seed),
                  progress=ProgressBar(f"baking {args.audio}"))
    write_frames(frames, args.out)
    print(f"wrote {len(frames)} frames ({len(audio) / 16000:.2f} s at {args.motion_hz:g} Hz) to {args.out}")
    return 0


def cmd_eval(args) -> int:
    if args.what == "render":
        from facecast.runtime.avatar.quality import main as eval_render

        return eval_render(args.portraits.split(",") if args.portraits else None, args.json, args.device)
    from facecast.runtime.motion.eval_lips import evaluate
    from facecast.runtime.motion.lips import DEFAULT_MODEL_PATH, EnergyLips, LipModel
    from facecast.runtime.motion.train_lips import dev_utterances

    models = {"model": LipModel(args.model or DEFAULT_MODEL_PATH, device=args.device), "baseline_energy": EnergyLips()}
    result = {"dev_set": "held-out voices and words (en, en-us, de, es, fr); see LIPS_MODEL_CARD.md"}
    for condition, augmented in (("clean", False), ("augmented", True)):
        utterances = dev_utterances(args.n, augmented=augmented)
        result[condition] = {name: evaluate(model, utterances) for name, model in models.items()}
    from facecast.runtime.motion.eval_motion import compare_all, format_table

    # the blendshape output as a consumer sees it: lip aperture judged against the phone timings
    motion = compare_all(args.n, args.model)
    result["aperture"] = motion
    if args.json:
        print(json.dumps(result, default=float))
        return 0
    print("Lip aperture (jawOpen - mouthClose) of the motion output against phone timings:")
    print(format_table(motion))
    print("\nViseme classification (the lip model alone):")
    keys = ("top1", "top1_speech", "group_acc", "lips_closed_pbm", "silence_acc", "lag_ms", "openness_corr")
    print(f"{'condition':<10} {'model':<16} " + " ".join(f"{k:>15}" for k in keys))
    for condition in ("clean", "augmented"):
        for name, r in result[condition].items():
            print(f"{condition:<10} {name:<16} " + " ".join(f"{r[k]:>15.3f}" for k in keys))
    return 0


def cmd_bench(args) -> int:
    if args.what == "bridge":
        from facecast.runtime.bench.bridge import bench_bridge

        result = bench_bridge(duration_s=args.duration)
    elif args.what == "motion":
        from facecast.runtime.bench.motion import bench_motion

        result = bench_motion(duration_s=max(args.duration, 10.0))
    elif args.what == "render":
        from facecast.runtime.render_cli import cmd_bench_render

        return cmd_bench_render(args)
    elif args.what == "adapters":
        from facecast.runtime.bench.adapters import bench_adapters

        result = bench_adapters(duration_s=args.duration)
    elif args.what == "e2e":
        from facecast.runtime.bench.e2e import bench_e2e

        result = bench_e2e(duration_s=min(max(args.duration, 20.0), 25.0))
    elif args.what == "soak":
        from facecast.runtime.bench.soak import bench_soak

        result = bench_soak(minutes=args.minutes)
    else:  # argparse restricts choices; this guards future additions
        raise SystemExit(f"unknown benchmark {args.what!r}")
    print(json.dumps(result, indent=2 if not args.json else None, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facecast", description="Real-time talking face from one portrait and live audio.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("listen", help="print a live summary of a runtime's stream (rate, latency, values)")
    p.add_argument("endpoint", nargs="?", default=DEFAULT_PUB_ENDPOINT)
    p.add_argument("--session", help="only this session id")
    p.add_argument("--control", help="also query this control endpoint's info (e.g. tcp://127.0.0.1:5556)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--keys", help="CURVE key folder (server.key + client.key_secret)")
    p.set_defaults(func=cmd_listen)

    p = sub.add_parser("ctl", help="send one control command, e.g. `facecast ctl set_emotion emotion=happy`")
    p.add_argument("command")
    p.add_argument("args", nargs="*", help="NAME=VALUE arguments (values parsed as JSON when possible)")
    p.add_argument("--endpoint", default=DEFAULT_CONTROL_ENDPOINT)
    p.add_argument("--payload", help="file whose bytes go in the payload part (push_audio, set_avatar)")
    p.add_argument("--keys", help="CURVE key folder")
    p.set_defaults(func=cmd_ctl)

    p = sub.add_parser("keys", help="create CURVE key pairs for binding beyond loopback")
    p.add_argument("dir")
    p.set_defaults(func=cmd_keys)

    p = sub.add_parser("devices", help="list audio input devices")
    p.set_defaults(func=cmd_devices)

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
        p.add_argument("--frame-format", choices=["jpeg", "rgb24"], default="jpeg")
        p.add_argument("--session", default="default")
        p.add_argument("--pub", default=DEFAULT_PUB_ENDPOINT, help="stream endpoint to bind")
        p.add_argument("--control", default=DEFAULT_CONTROL_ENDPOINT, help="control endpoint to bind")
        p.add_argument("--keys", help="CURVE key folder (required to bind beyond 127.0.0.1, see `facecast keys`)")
        p.add_argument("--insecure", action="store_true", help="bind beyond 127.0.0.1 without keys (warns)")
        p.add_argument("--lips", choices=["model", "energy"], default="model", help="lip-sync model or loudness baseline")
        p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--motion-hz", type=float, default=60.0)
        p.add_argument("--duration", type=float, help="stop after this many seconds")
        p.add_argument("--json", action="store_true", help="print the summary as JSON")
        if name == "demo":
            p.add_argument("--out-dir", default="out", help="where the demo writes demo.mp4 and demo_sheet.png")
            p.add_argument("--no-video", action="store_true", help="stream only; skip the MP4")
        p.set_defaults(func=func)

    p = sub.add_parser("bake", help="audio file -> animation file (.jsonl or .csv)")
    p.add_argument("audio")
    p.add_argument("--out", required=True, help="anim.jsonl or anim.csv")
    p.add_argument("--lips", choices=["model", "energy"], default="model")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--motion-hz", type=float, default=60.0)
    p.set_defaults(func=cmd_bake)

    p = sub.add_parser("eval", help="quality: `facecast eval lipsync` (held-out speech), `facecast eval render` "
                                    "(renderer on the sample portraits)")
    p.add_argument("what", choices=["lipsync", "render"])
    p.add_argument("--portraits", help="eval render: comma-separated sample portraits (default: every one with a docs/sheets sheet)")
    p.add_argument("--model", help="ONNX lip model (default: the shipped one)")
    p.add_argument("--n", type=int, default=120, help="dev utterances per condition")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="cpu")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure; prints JSON")
    p.add_argument("what", choices=["bridge", "motion", "render", "adapters", "e2e", "soak"])
    p.add_argument("--json", action="store_true", help="compact JSON on one line")
    p.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    p.add_argument("--minutes", type=float, default=10.0, help="soak: how long to run")
    p.set_defaults(func=cmd_bench)

    from facecast.runtime.cli_adapters import add_parsers as add_adapter_parsers

    add_adapter_parsers(sub)

    from facecast.runtime.render_cli import add_parsers as add_render_parsers

    add_render_parsers(sub)

    from facecast.runtime.virtualcam import add_parser as add_virtualcam_parser

    add_virtualcam_parser(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
