"""`facecast listen`: a live summary of what a runtime publishes — the first tool to reach for
when a consumer (Unity, OBS) shows nothing: is anything arriving, how fast, how late, what values.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import DEFAULT_PUB_ENDPOINT, Subscriber
from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES


@dataclass
class _Window:
    """Per (kind, session) figures over the last report interval."""

    count: int = 0
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=2000))
    last: object = None


def _percentile(values, q: float) -> float:
    return float(np.percentile(np.fromiter(values, float), q)) if values else float("nan")


def describe(msg: P.StreamMessage) -> str:
    """One line of the most telling values of a message."""
    if isinstance(msg, P.MotionMessage):
        top = np.argsort(msg.blendshapes)[::-1][:3]
        shapes = " ".join(f"{BLENDSHAPE_NAMES[i]}={msg.blendshapes[i]:.2f}" for i in top if msg.blendshapes[i] > 0.01)
        pitch, yaw, roll = (float(x) for x in msg.head[:3])
        viseme = VISEME_NAMES[int(np.argmax(msg.visemes))]
        return (f"t_audio={msg.stamp.t_audio_s:7.2f}s speaking={'yes' if msg.speaking else 'no '} viseme={viseme:<3} "
                f"head p/y/r={pitch:+.1f}/{yaw:+.1f}/{roll:+.1f}deg {shapes}")
    if isinstance(msg, P.FrameMessage):
        return f"t_audio={msg.stamp.t_audio_s:7.2f}s {msg.fmt} {msg.width}x{msg.height} {len(msg.data)} bytes"
    d = msg.data
    if msg.name == "stats":  # the runtime's once-a-second health report
        line = (f"stats: motion {d.get('motion_fps', '?')}/s, audio->publish p50 {d.get('latency_ms_p50', float('nan')):.1f} ms"
                f" p95 {d.get('latency_ms_p95', float('nan')):.1f} ms, cpu {d.get('cpu_percent', '?')}%")
        if "fps" in d:
            line += (f"; frames {d['fps']}/s, {d.get('dropped_frames', 0)} dropped, "
                     f"audio->frame p50 {d.get('frame_latency_ms_p50', float('nan')):.1f} ms")
        offset_ms = sync_offset_ms(d)
        if offset_ms is not None:
            line += f"; delay your audio by {offset_ms} ms (OBS: Sync Offset) so voice and lips line up"
        return line
    items = ", ".join(f"{k}={v}" for k, v in list(d.items())[:6])
    return f"{msg.name}: {items}"


def sync_offset_ms(stats: dict) -> int | None:
    """The audio delay a streamer sets so the voice lines up with the face, from a stats report: the p50
    latency from audio arrival to publication of what the viewer sees (frames when the runtime renders them,
    else parameters), rounded up to 10 ms (OBS takes whole ms; rounding up keeps the mouth from trailing).
    None when the report has no latency yet. An app that renders parameters itself adds its own frame time."""
    latency_ms = stats.get("frame_latency_ms_p50") if "fps" in stats else stats.get("latency_ms_p50")
    if latency_ms is None or not np.isfinite(latency_ms) or latency_ms <= 0:
        return None
    return int(np.ceil(latency_ms / 10.0) * 10)


def listen(endpoint: str, *, session: str | None = None, duration_s: float | None = None,
           interval_s: float = 1.0, keys_dir=None, out: TextIO = sys.stdout) -> dict:
    """Print a summary every `interval_s` until `duration_s` passes (forever when None) or Ctrl-C.

    Returns the totals: {"received": {kind: n}, "bad_messages": n, "seq_gaps": n, ...}.
    """
    sub = Subscriber(endpoint, session=session, keys_dir=keys_dir)
    windows: dict[tuple[str, str], _Window] = defaultdict(_Window)
    start = last_report = time.monotonic()
    print(f"listening on {endpoint} (session: {session or 'all'}); Ctrl-C to stop", file=out, flush=True)
    try:
        while duration_s is None or time.monotonic() - start < duration_s:
            msg = sub.recv(timeout_s=0.05)
            if msg is not None:
                kind = type(msg).__name__.removesuffix("Message").lower()
                w = windows[(kind, msg.stamp.session)]
                w.count += 1
                w.latencies_ms.append((msg.stamp.recv_wall_s - msg.stamp.t_wall_s) * 1000.0)
                w.last = msg
            now = time.monotonic()
            if now - last_report >= interval_s:
                _report(windows, sub, now - last_report, out)
                last_report = now
    except KeyboardInterrupt:
        pass
    finally:
        sub.close()
    if not sub.stats.received:
        print(f"nothing received from {endpoint}: is `facecast run` publishing there (see its --pub option), "
              f"and does the session id match?", file=out, flush=True)
    return {"received": dict(sub.stats.by_kind), "bad_messages": sub.stats.bad_messages,
            "seq_gaps": sub.stats.seq_gaps, "frames_superseded": sub.stats.frames_superseded,
            "last_error": sub.stats.last_error}


def _report(windows: dict, sub: Subscriber, elapsed_s: float, out: TextIO) -> None:
    if not windows:
        print("  (no messages yet)", file=out, flush=True)
    for (kind, session), w in sorted(windows.items()):
        rate = w.count / elapsed_s
        lat = list(w.latencies_ms)
        print(f"  {kind:<6} {session:<12} {rate:6.1f}/s  latency p50 {_percentile(lat, 50):6.2f} ms "
              f"p95 {_percentile(lat, 95):6.2f} ms | {describe(w.last) if w.last is not None else '-'}",
              file=out, flush=True)
        w.count = 0
        w.latencies_ms.clear()
    s = sub.stats
    if s.bad_messages or s.seq_gaps:
        print(f"  dropped: {s.bad_messages} undecodable (last: {s.last_error}), {s.seq_gaps} lost in transit",
              file=out, flush=True)


# -- command line ---------------------------------------------------------------------------------

def cmd_listen(args) -> int:
    from facecast.bridge.security import BadEndpoint

    try:
        if args.control:
            print_info(args.control, args.keys)
        totals = listen(args.endpoint, session=args.session, duration_s=args.duration, keys_dir=args.keys)
    except (BadEndpoint, OSError) as exc:
        print(f"facecast listen: {exc}", file=sys.stderr)
        return 2
    return 0 if sum(totals["received"].values()) else 1


def print_info(endpoint: str, keys_dir) -> None:
    from facecast.bridge.control import ControlClient

    with ControlClient(endpoint, keys_dir=keys_dir) as client:
        try:
            info = client.info()
        except TimeoutError as exc:
            print(f"control: {exc}")
            return
    print(f"control {endpoint}: {info['server']}, protocol {info['protocol']}, "
          f"capabilities: {', '.join(info['capabilities']) or '-'}, sessions: {info.get('sessions', '-')}")


def add_parser(sub) -> None:
    """Register `listen`."""
    p = sub.add_parser("listen", help="print a live summary of a runtime's stream (rate, latency, values)")
    p.add_argument("endpoint", nargs="?", default=DEFAULT_PUB_ENDPOINT)
    p.add_argument("--session", help="only this session id")
    p.add_argument("--control", help="also query this control endpoint's info (e.g. tcp://127.0.0.1:5556)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--keys", help="CURVE key folder (server.key + client.key_secret)")
    p.set_defaults(func=cmd_listen)
