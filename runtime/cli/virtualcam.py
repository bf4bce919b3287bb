"""`facecast virtualcam`: a session's frames as a webcam (bridge.adapters.virtualcam does the work)."""

from __future__ import annotations

import sys
import threading

from facecast.bridge.adapters.virtualcam import VirtualCamUnavailable, run_virtualcam
from facecast.bridge.pubsub import DEFAULT_PUB_ENDPOINT


def cmd_virtualcam(args) -> int:
    import signal

    stop = threading.Event()
    try:
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    except ValueError:  # not the main thread (tests): the caller owns signals
        pass
    try:
        stats = run_virtualcam(args.endpoint, args.session, fps=args.fps, backend=args.backend,
                               device=args.device, keys_dir=args.keys, duration_s=args.duration, stop=stop)
    except VirtualCamUnavailable as exc:
        print(f"facecast virtualcam: {exc}", file=sys.stderr)
        return 2
    print(f"sent {stats['frames_sent']} camera frames from {stats['frames_received']} received"
          + (f" ({stats['frames_bad']} undecodable)" if stats["frames_bad"] else ""), file=sys.stderr)
    return 0 if stats["frames_received"] else 1


def add_parser(sub) -> None:
    p = sub.add_parser("virtualcam", help="show a session's frames on a virtual camera (v4l2loopback / OBS "
                                          "Virtual Camera); needs facecast[virtualcam]")
    p.add_argument("--endpoint", default=DEFAULT_PUB_ENDPOINT, help="the runtime's stream endpoint")
    p.add_argument("--session", default="default", help="session whose frames to show")
    p.add_argument("--fps", type=float, default=None, help="camera frame rate (default: the stream's)")
    p.add_argument("--backend", default=None, help="pyvirtualcam backend (v4l2loopback, obs, unitycapture)")
    p.add_argument("--device", default=None, help="camera device, e.g. /dev/video10 or 'OBS Virtual Camera'")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--keys", help="CURVE key folder (server.key + client.key_secret)")
    p.set_defaults(func=cmd_virtualcam)
