"""Stream transport benchmark: the PUB socket and the reference Subscriber in two processes.

    result = bench_bridge(duration_s=5.0, transports=("tcp", "ipc"))   # JSON-ready dict

Measures, per transport, on loopback:
- params: motion messages paced at 60 Hz by the clock; publish -> receive latency (header
  `t_wall` against the receiver's time.time(); CLOCK_REALTIME is one clock for all processes
  on a machine), sent vs received, seq gaps;
- frames: a 512x512 rgb24 frame (786,432 bytes, sent zero-copy) and one pre-encoded 512x512
  JPEG, the publisher sending as fast as it can for `duration_s`; frames/s sent and received.
  The publisher never blocks, so what the receiver cannot take is dropped at the publisher's
  high-water mark: drops = sent - received.

Each run is a fresh publisher process and a fresh subscriber process. No sleeps dodge the
slow-joiner problem: the publisher repeats a `hello` event until the subscriber, having received
one, sets a shared Event. Figures are as good as the machine is quiet: `machine.loadavg` is
recorded at the start so noisy runs can be recognised.
"""

from __future__ import annotations

import io
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
import traceback

import numpy as np
import zmq

from facecast.bridge import protocol as P
from facecast.bridge.pubsub import Publisher, Subscriber
from facecast.runtime.workshop.bench import machine_info

SESSION = "bench"
PARAMS_RATE_HZ = 60
FRAME_SIDE_PX = 512
JPEG_QUALITY = 85
TARGET_PARAMS_P99_MS = 1.0       # DESIGN.md performance budget, loopback
TARGET_RAW_IPC_FPS = 1000.0

_HELLO_PERIOD_S = 0.005
_HANDSHAKE_TIMEOUT_S = 30.0      # spawn + imports on a loaded 2-core machine
_IDLE_END_S = 0.3                # after the publisher is done, this much silence ends a receiver


# ---------------------------------------------------------------------------------------------
# Test payloads
# ---------------------------------------------------------------------------------------------

def raw_test_frame(side_px: int = FRAME_SIDE_PX) -> np.ndarray:
    """(side, side, 3) uint8 rgb24: smooth gradients; the content does not matter to the wire."""
    y, x = np.mgrid[0:side_px, 0:side_px].astype(np.float32) / side_px
    rgb = np.stack([0.2 + 0.6 * x, 0.3 + 0.4 * y, 0.5 + 0.3 * np.sin(6 * x * y)], axis=-1)
    return np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))


def photo_like_jpeg(side_px: int = FRAME_SIDE_PX, quality: int = JPEG_QUALITY) -> bytes | None:
    """A portrait-sized JPEG with the entropy of a photo (gradients, soft shapes, sensor-like
    noise), so its size is realistic. None when neither Pillow nor simplejpeg is installed."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:side_px, 0:side_px].astype(np.float32) / side_px
    rgb = np.stack([0.35 + 0.4 * x, 0.3 + 0.3 * y, 0.45 - 0.2 * x * y], axis=-1)
    # a skin-toned ellipse with shading stands in for a face; darker "hair" above it
    face = ((x - 0.5) / 0.22) ** 2 + ((y - 0.52) / 0.3) ** 2
    shade = np.clip(1.1 - 0.5 * face, 0, 1)[..., None]
    rgb = np.where((face < 1)[..., None], np.array([0.85, 0.65, 0.55]) * shade, rgb)
    rgb = np.where(((face < 1.6) & (y < 0.35))[..., None], np.array([0.25, 0.18, 0.12]), rgb)
    texture = rng.normal(0, 1, (side_px // 4, side_px // 4, 3)).repeat(4, 0).repeat(4, 1)
    rgb = rgb + 0.03 * texture + 0.015 * rng.normal(0, 1, rgb.shape)
    pixels = np.ascontiguousarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))
    try:
        from PIL import Image
    except ImportError:
        try:
            import simplejpeg
        except ImportError:
            return None
        return simplejpeg.encode_jpeg(pixels, quality=quality, colorspace="RGB")
    out = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Child processes (module-level so that the spawn start method can import them)
# ---------------------------------------------------------------------------------------------

def _publisher_main(work: str, bind: str, ready, done, out, duration_s: float, payload) -> None:
    """work: "params" (motion at PARAMS_RATE_HZ) or "frames" (payload = (fmt, w, h, stride, bytes))."""
    pub = None
    try:
        pub = Publisher(bind, ctx=zmq.Context())
        out.send({"endpoint": pub.endpoint})
        deadline = time.monotonic() + _HANDSHAKE_TIMEOUT_S
        while not ready.wait(_HELLO_PERIOD_S):
            pub.event(SESSION, "hello", {})
            if time.monotonic() > deadline:
                raise TimeoutError(f"no subscriber signalled ready within {_HANDSHAKE_TIMEOUT_S} s")
        sent_before = pub.sent
        if work == "params":
            result = _publish_params(pub, duration_s)
        else:
            result = _publish_frames(pub, duration_s, payload)
        result["sent"] = pub.sent - sent_before
        result["send_failures"] = pub.send_failures
        done.set()
        out.send(result)
    except BaseException:
        done.set()
        out.send({"error": traceback.format_exc()})
    finally:
        if pub is not None:
            pub.close()


def _publish_params(pub: Publisher, duration_s: float) -> dict:
    rng = np.random.default_rng(1)
    blendshapes = rng.random(52, dtype=np.float32)
    head, gaze = np.zeros(6, np.float32), np.zeros(4, np.float32)
    visemes = np.full(15, 1 / 15, np.float32)
    n = max(1, int(round(duration_s * PARAMS_RATE_HZ)))
    period_s = 1.0 / PARAMS_RATE_HZ
    max_send_s = 0.0
    t0 = time.perf_counter()
    for i in range(n):
        # paced by the clock, not by the previous send: no drift, no bursts
        wait_s = t0 + i * period_s - time.perf_counter()
        if wait_s > 0:
            time.sleep(wait_s)
        t = time.perf_counter()
        pub.motion(SESSION, i * period_s, blendshapes, head, gaze, visemes, speaking=True)
        max_send_s = max(max_send_s, time.perf_counter() - t)
    return {"rate_hz": PARAMS_RATE_HZ, "max_send_ms": max_send_s * 1e3}


def _publish_frames(pub: Publisher, duration_s: float, payload) -> dict:
    fmt, width, height, stride, data = payload
    data = memoryview(data)  # one buffer, sent again and again without a copy
    t_start = time.time()
    t_end_mono = time.monotonic() + duration_s
    t_audio = 0.0
    while time.monotonic() < t_end_mono:
        pub.frame(SESSION, t_audio, fmt, width, height, stride, data)
        t_audio += 1 / 60
    return {"t_start": t_start, "t_end": time.time()}


def _subscriber_main(work: str, endpoint: str, ready, done, out, rcvhwm: int) -> None:
    sub = None
    try:
        kinds = ("motion", "event") if work == "params" else ("frame", "event")
        sub = Subscriber(endpoint, kinds=kinds, session=SESSION, ctx=zmq.Context(), rcvhwm=rcvhwm)
        deadline = time.monotonic() + _HANDSHAKE_TIMEOUT_S
        while True:
            msg = sub.recv(timeout_s=0.5)
            if isinstance(msg, P.EventMessage) and msg.name == "hello":
                break
            if time.monotonic() > deadline or done.is_set():
                raise TimeoutError(f"no hello from the publisher within {_HANDSHAKE_TIMEOUT_S} s")
        ready.set()
        out.send(_receive_params(sub, done) if work == "params" else _receive_frames(sub, done))
    except BaseException:
        out.send({"error": traceback.format_exc()})
    finally:
        if sub is not None:
            sub.close()


def _receive_params(sub: Subscriber, done) -> dict:
    latencies_ms, seqs = [], []
    while True:
        msg = sub.recv(timeout_s=_IDLE_END_S)
        if msg is None:
            if done.is_set():
                break
            continue
        if isinstance(msg, P.MotionMessage):
            latencies_ms.append((msg.stamp.recv_wall_s - msg.stamp.t_wall_s) * 1e3)
            seqs.append(msg.stamp.seq)
    return {"latencies_ms": latencies_ms, "seqs": seqs, "seq_gaps": sub.stats.seq_gaps,
            "params_dropped": sub.stats.params_dropped, "bad_messages": sub.stats.bad_messages}


def _receive_frames(sub: Subscriber, done) -> dict:
    # recv() in a tight loop; the Subscriber counts every frame that came off the socket
    # (stats.by_kind) even when newest-wins hands us only the latest of a burst.
    in_window = None
    t_first = None
    while True:
        msg = sub.recv(timeout_s=_IDLE_END_S)
        if t_first is None and isinstance(msg, P.FrameMessage):
            t_first = time.time()
        if in_window is None and done.is_set():
            in_window = sub.stats.by_kind["frame"]
        elif msg is None and in_window is not None:
            break
    s = sub.stats
    return {"received": s.by_kind["frame"], "received_in_window": in_window, "t_first": t_first,
            "seq_gaps": s.seq_gaps, "frames_superseded": s.frames_superseded, "bad_messages": s.bad_messages}


# ---------------------------------------------------------------------------------------------
# Orchestration
# ---------------------------------------------------------------------------------------------

def _run_pair(work: str, bind: str, duration_s: float, payload=None, rcvhwm: int = 256) -> tuple[dict, dict]:
    """Start publisher and subscriber processes, return (publisher result, subscriber result)."""
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    pub_r, pub_w = ctx.Pipe(duplex=False)
    sub_r, sub_w = ctx.Pipe(duplex=False)
    pub = ctx.Process(target=_publisher_main, args=(work, bind, ready, done, pub_w, duration_s, payload),
                      name=f"facecast-bench-pub-{work}", daemon=True)
    sub = None
    try:
        pub.start()
        first = _recv_or_fail(pub_r, _HANDSHAKE_TIMEOUT_S, "publisher", work)
        sub = ctx.Process(target=_subscriber_main, args=(work, first["endpoint"], ready, done, sub_w, rcvhwm),
                          name=f"facecast-bench-sub-{work}", daemon=True)
        sub.start()
        limit_s = _HANDSHAKE_TIMEOUT_S + duration_s + 30
        pub_result = _recv_or_fail(pub_r, limit_s, "publisher", work)
        sub_result = _recv_or_fail(sub_r, limit_s, "subscriber", work)
        return pub_result, sub_result
    finally:
        for proc in (pub, sub):
            if proc is not None:
                proc.join(timeout=5)
                if proc.is_alive():
                    proc.terminate()
                    proc.join(timeout=5)


def _recv_or_fail(conn, timeout_s: float, who: str, work: str) -> dict:
    if not conn.poll(timeout_s):
        raise RuntimeError(f"bench {work}: the {who} process sent nothing within {timeout_s:.0f} s")
    result = conn.recv()
    if "error" in result:
        raise RuntimeError(f"bench {work}: the {who} process failed:\n{result['error']}")
    return result


def _bind_endpoint(transport: str, tmpdir: str, name: str) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:0"  # the publisher reports the port it got
    if transport == "ipc":
        return f"ipc://{tmpdir}/{name}.sock"
    raise ValueError(f"unknown transport {transport!r}; choose tcp or ipc")


def _percentiles_ms(values: list[float]) -> dict:
    if not values:
        return {"p50": None, "p99": None, "max": None, "mean": None}
    a = np.asarray(values)
    return {"p50": round(float(np.percentile(a, 50)), 4), "p99": round(float(np.percentile(a, 99)), 4),
            "max": round(float(a.max()), 4), "mean": round(float(a.mean()), 4)}


def bench_params(transport: str, duration_s: float, tmpdir: str) -> dict:
    pub, sub = _run_pair("params", _bind_endpoint(transport, tmpdir, "params"), duration_s)
    seqs = sub["seqs"]
    missing = pub["sent"] - len(seqs)
    return {
        "rate_hz": pub["rate_hz"],
        "sent": pub["sent"],
        "received": len(seqs),
        "missing": missing,
        "seq_gaps": sub["seq_gaps"],
        "in_order": seqs == sorted(seqs),
        "latency_ms": _percentiles_ms(sub["latencies_ms"]),
        "max_send_ms": round(pub["max_send_ms"], 4),
    }


def bench_frames(transport: str, duration_s: float, tmpdir: str, payload) -> dict:
    fmt, _, _, _, data = payload
    pub, sub = _run_pair("frames", _bind_endpoint(transport, tmpdir, f"frames-{fmt}"), duration_s, payload)
    window_s = max(1e-9, pub["t_end"] - pub["t_start"])
    received_per_s = sub["received_in_window"] / window_s
    return {
        "fmt": fmt,
        "bytes": len(data),
        "seconds": round(window_s, 3),
        "sent": pub["sent"],
        "received": sub["received"],
        "sent_per_s": round(pub["sent"] / window_s, 1),
        "received_per_s": round(received_per_s, 1),
        "received_mb_per_s": round(received_per_s * len(data) / 1e6, 1),
        "drops": pub["sent"] - sub["received"],
        "seq_gaps": sub["seq_gaps"],
        "bad_messages": sub["bad_messages"],
    }




def bench_bridge(duration_s: float = 5.0, transports=("tcp", "ipc")) -> dict:
    """Measure the stream transport; returns a JSON-ready dict (see the module docstring).

    Takes about 3 x duration_s per transport plus process start-up (~1 s per run).
    """
    transports = tuple(transports)
    notes = []
    if "ipc" in transports and not zmq.has("ipc"):
        transports = tuple(t for t in transports if t != "ipc")
        notes.append("ipc skipped: this libzmq has no ipc transport")
    side = FRAME_SIDE_PX
    raw = raw_test_frame(side)
    payloads = {"rgb24": ("rgb24", side, side, side * 3, raw.tobytes())}
    jpeg = photo_like_jpeg(side)
    if jpeg is None:
        notes.append("jpeg skipped: install Pillow or simplejpeg to encode the test image")
    else:
        payloads["jpeg"] = ("jpeg", side, side, 0, jpeg)

    result = {
        "bench": "bridge",
        "protocol": P.PROTOCOL_VERSION,
        "machine": machine_info(),
        "duration_s": duration_s,
        "params": {},
        "frames": {fmt: {} for fmt in payloads},
    }
    tmpdir = tempfile.mkdtemp(prefix="facecast-bench-")
    try:
        for transport in transports:
            result["params"][transport] = bench_params(transport, duration_s, tmpdir)
            for fmt, payload in payloads.items():
                result["frames"][fmt][transport] = bench_frames(transport, duration_s, tmpdir, payload)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

    p99s = [r["latency_ms"]["p99"] for r in result["params"].values() if r["latency_ms"]["p99"] is not None]
    raw_ipc = result["frames"]["rgb24"].get("ipc", {}).get("received_per_s")
    result["targets"] = {
        "params_p99_ms": {"target": TARGET_PARAMS_P99_MS, "worst": max(p99s) if p99s else None,
                          "met": bool(p99s) and max(p99s) <= TARGET_PARAMS_P99_MS},
        "raw_ipc_frames_per_s": {"target": TARGET_RAW_IPC_FPS, "measured": raw_ipc,
                                 "met": raw_ipc is not None and raw_ipc >= TARGET_RAW_IPC_FPS},
    }
    result["notes"] = notes
    return result


if __name__ == "__main__":  # quick manual run: python -m facecast.runtime.workshop.bench.bridge [duration_s]
    import json

    print(json.dumps(bench_bridge(float(sys.argv[1]) if len(sys.argv) > 1 else 5.0), indent=2))
