"""`facecast studio`: the live runtime plus the web page that shows, steers and records it (bridge.studio)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from facecast.bridge.pubsub import DEFAULT_CONTROL_ENDPOINT, DEFAULT_PUB_ENDPOINT

DEFAULT_PORT = 8080


def studio_config(args):
    """CLI options -> RuntimeConfig: frames always (the page shows them), pushed audio unless --audio / --mic.

    Frames leave the runtime as raw RGBA with the person mask as alpha: the /obs view needs the alpha, and the
    colour is the full picture (where alpha is 0 it is the portrait's background), so the main view is the same
    frame without its alpha. The studio encodes both for the browsers (bridge.studio.hub)."""
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT, RuntimeConfig

    cfg = RuntimeConfig(session=args.session, pub_endpoint=args.pub, control_endpoint=args.control,
                        keys_dir=Path(args.keys) if args.keys else None, insecure=args.insecure,
                        device=args.device, fps=args.fps, image=Path(args.image or SAMPLE_PORTRAIT),
                        audio_source="push", audio_path=None, loop=args.loop, frame_format="rgba32",
                        background="transparent")
    if args.mic is not None:
        cfg.audio_source = "mic"
        cfg.mic_device = int(args.mic) if args.mic.isdigit() else (args.mic or None)
    elif args.audio:
        cfg.audio_source, cfg.audio_path = "file", Path(args.audio)
    return cfg


def cmd_studio(args) -> int:
    from facecast.bridge.security import InsecureBindError
    from facecast.bridge.studio import Studio, serve_forever
    from facecast.bridge.studio.access import Access
    from facecast.runtime.engine.pipeline import Runtime

    try:
        access = Access(args.keys, args.insecure)
        access.check(args.host)
        runtime = Runtime(studio_config(args))
    except (InsecureBindError, FileNotFoundError, ValueError, OSError) as exc:
        print(f"facecast: {exc}", file=sys.stderr)
        return 2
    summary: dict = {}
    stop = threading.Event()

    def run_runtime() -> None:
        try:
            summary.update(runtime.run())
        finally:
            stop.set()  # a file played to its end (without --loop) ends the studio too

    thread = threading.Thread(target=run_runtime, name="facecast-runtime", daemon=True)
    thread.start()
    studio = Studio(runtime.publisher.endpoint, runtime.control.endpoint, keys_dir=args.keys, access=access)

    def ready(url: str) -> None:
        base, _, token = url.partition("?")  # with --keys the OBS view needs the token too
        obs = f"{base}obs" + (f"?{token}" if token else "")
        print(f"facecast studio on {url} (OBS Browser Source: {obs}); runtime publishing on "
              f"{runtime.publisher.endpoint}, control on {runtime.control.endpoint}; Ctrl-C to stop", flush=True)

    try:
        serve_forever(studio, args.host, args.port, on_ready=ready, stop=stop)
    except OSError as exc:  # the port is taken
        print(f"facecast: cannot serve on {args.host}:{args.port}: {exc}; pick another with --port",
              file=sys.stderr)
        return 2
    finally:
        runtime.stop()
        thread.join(timeout=10)
    for sid, s in summary.get("sessions", {}).items():
        print(f"session {sid}: {s.get('frames', 0)} frames ({s.get('frame_fps', 0):.1f}/s), "
              f"audio arrival to frame p50 {s.get('frame_latency_ms_p50', float('nan')):.0f} ms", flush=True)
    return 0


def add_parser(sub) -> None:
    """Register `studio`."""
    p = sub.add_parser("studio", help="serve a web page to try the face, steer it live, record it and add it to OBS")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"web page port (default {DEFAULT_PORT}; 0 picks one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to serve on; beyond loopback needs --keys (the page then needs its token) "
                        "or --insecure")
    p.add_argument("--image", help="portrait to start with (default: the bundled one); the page can upload another")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--audio", help="an audio file on this machine, played in real time (instead of the page's audio)")
    src.add_argument("--mic", nargs="?", const="", help="this machine's microphone: name substring or index")
    p.add_argument("--loop", action="store_true", help="loop --audio (without it the studio ends with the file)")
    p.add_argument("--fps", type=int, default=30, help="video frames per second (1..60, default 30)")
    p.add_argument("--session", default="default", help="the session the runtime starts with")
    p.add_argument("--pub", default=DEFAULT_PUB_ENDPOINT, help="the runtime's stream endpoint (other apps may "
                                                                "subscribe too)")
    p.add_argument("--control", default=DEFAULT_CONTROL_ENDPOINT, help="the runtime's control endpoint")
    p.add_argument("--keys", help="CURVE key folder: required to serve or bind beyond 127.0.0.1 (`facecast keys`)")
    p.add_argument("--insecure", action="store_true", help="serve beyond 127.0.0.1 without keys (warns)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.set_defaults(func=cmd_studio)
