"""End-to-end benchmark of the live runtime: audio arrival -> parameters / frames received elsewhere; capacity.

    result = bench_e2e(duration_s=20.0)   # JSON-ready dict; `facecast bench e2e --json`

(a) latency: runtime.pipeline.Runtime, one session, the bundled speech (looped with pauses) played by
    FileSource(realtime=True) — the same ring path a microphone callback feeds, 10 ms chunks stamped with
    their wall arrival (the ALSA fake microphone has no clock, see tests/fakes/alsa_mic.py). The lip model
    (onnxruntime, CPU), motion at 60 Hz and JPEG q85 512x512 frames of the bundled portrait at 30 fps.
    A Subscriber in a *separate process* records each message's receive wall time; after the run, per
    message: latency = receive time - arrival wall time of the audio sample it depicts (t_audio * 16000 - 1,
    read from the runtime's ring). Both processes share the machine's wall clock, so no clock offset enters.
    Also reported: how far the arrival times stray from the straight line arrival(t) = t0 + t (`pacing_error`),
    i.e. the error a client makes when it estimates arrival from the file's start time instead.
(b) capacity: N sessions in one runtime, each playing the speech file at real-time pace, for `capacity_s`
    seconds, first parameters only, then with frames at 30 fps; N rises through `sessions` until a run
    fails. A run passes when every session published motion at full rate (>= 98% of 60 per second of its
    audio, no samples lost, its audio clock within 0.5 s of real time, arrival -> publish p95 <= 100 ms) and,
    with frames, dropped no frame.
    Runtime-side latencies (arrival -> publish) are reported per N.
Figures are as good as the machine is quiet (`machine.loadavg`).
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from facecast.runtime.workshop.bench import speech_clip

SAMPLE_RATE_HZ = 16000
_HANDSHAKE_TIMEOUT_S = 30.0
MAX_P95_MS = 100.0  # capacity: a session whose arrival -> publish p95 passes this is not keeping up


def _pct(x, q) -> float:
    return round(float(np.percentile(np.asarray(x, np.float64), q)), 2) if len(x) else float("nan")


def subscriber_main(endpoint: str, ready, done, out) -> None:
    """Separate process: (kind, session, t_audio_s, t_wall_s, recv_wall_s) of every motion and frame message."""
    try:
        from facecast.bridge.pubsub import Subscriber

        sub = Subscriber(endpoint, param_queue=100000, rcvhwm=100000)
        rec = []
        while True:
            msg = sub.recv(timeout_s=0.05)
            if msg is None:
                if done.is_set():
                    break
                continue
            kind = type(msg).__name__
            if kind == "EventMessage":
                ready.set()
                continue
            rec.append((kind[0], msg.stamp.session, msg.stamp.t_audio_s, msg.stamp.t_wall_s, msg.stamp.recv_wall_s))
        sub.close()
        out.send({"records": rec, "stats": {k: v for k, v in vars(sub.stats).items() if isinstance(v, (int, float))}})
    except BaseException:
        out.send({"error": traceback.format_exc()})


def run_recorded(runtime, session_id: str) -> tuple[dict, dict]:
    """Run `runtime` to its end while a subscriber in its own process records every motion and frame
    message (subscriber_main). Returns (the runtime's summary, {"records": [...], "stats": {...}})."""
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    recv_end, send_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=subscriber_main, args=(runtime.publisher.endpoint, ready, done, send_end))
    proc.start()
    try:
        deadline = time.monotonic() + _HANDSHAKE_TIMEOUT_S
        while not ready.wait(0.005):  # handshake, not a sleep: the subscriber has seen a message
            runtime.publisher.event(session_id, "hello", {})
            if time.monotonic() > deadline:
                raise TimeoutError("subscriber process did not connect within 30 s")
        summary = runtime.run()
        done.set()
        result = recv_end.recv() if recv_end.poll(_HANDSHAKE_TIMEOUT_S) else {"error": "no subscriber result"}
    finally:
        done.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
    if "error" in result:
        raise RuntimeError(f"subscriber failed: {result['error']}")
    return summary, result


def _config(path: Path, image, **kw):
    from facecast.runtime.engine.config import RuntimeConfig

    return RuntimeConfig(audio_source="file", audio_path=path, lips="model", device="cpu", image=image, fps=30,
                         pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                         status_line=False, **kw)


def pacing_error(ring, step: int = 160) -> dict:
    """How far the ring's arrival stamps stray from arrival(i) = arrival(first) + (i - first) / rate."""
    first = ring.oldest_index
    base = ring.arrival(first).wall_s
    err = []
    for i in range(first, ring.end_index, step):
        err.append((ring.arrival(i).wall_s - (base + (i - first) / SAMPLE_RATE_HZ)) * 1000)
    err = np.abs(np.array(err))
    return {"p50_ms": _pct(err, 50), "p95_ms": _pct(err, 95), "max_ms": round(float(err.max()), 2)}


def bench_latency(audio: np.ndarray, tmp: Path) -> dict:
    import soundfile as sf

    from facecast.runtime.engine.config import SAMPLE_PORTRAIT
    from facecast.runtime.engine.pipeline import Runtime

    path = tmp / "speech.wav"
    sf.write(str(path), audio, SAMPLE_RATE_HZ, subtype="FLOAT")
    runtime = Runtime(_config(path, SAMPLE_PORTRAIT))
    session = runtime.sessions["default"]
    summary, result = run_recorded(runtime, "default")
    lat = {"M": [], "F": []}
    transport = {"M": [], "F": []}
    for kind, _sid, t_audio_s, t_wall_s, recv_wall_s in result["records"]:
        transport[kind].append((recv_wall_s - t_wall_s) * 1000)
        try:
            lat[kind].append((recv_wall_s - session.ring.arrival(int(round(t_audio_s * SAMPLE_RATE_HZ)) - 1).wall_s)
                             * 1000)
        except IndexError:
            pass
    s = summary["sessions"]["default"]
    return {
        "params_ms_p50": _pct(lat["M"], 50), "params_ms_p95": _pct(lat["M"], 95), "params_received": len(lat["M"]),
        "frames_ms_p50": _pct(lat["F"], 50), "frames_ms_p95": _pct(lat["F"], 95), "frames_received": len(lat["F"]),
        "transport_ms_p50": {"params": _pct(transport["M"], 50), "frames": _pct(transport["F"], 50)},
        "frame_fps": s.get("frame_fps"), "dropped_frames": s.get("dropped_frames"), "motion_fps": s["motion_fps"],
        "render_ms_p50": s.get("render_ms_p50"), "lookahead_ms": s["lookahead_ms"],
        "pacing_error": pacing_error(session.ring), "subscriber_stats": result["stats"],
        "targets": {"params_ms_p50": 60, "frames_ms_p50": 100},
    }


def run_sessions(n: int, path: Path, frames: bool, duration_s: float) -> dict:
    """n file sessions (real-time pace) in one runtime for duration_s; did each keep full rate?"""
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT
    from facecast.runtime.engine.pipeline import Runtime

    image = SAMPLE_PORTRAIT if frames else None
    runtime = Runtime(_config(path, image, duration_s=duration_s, loop=True))
    for i in range(1, n):
        runtime.create_session(f"s{i}", image=str(image or ""), frames=frames, audio_source="file", audio_path=path)
    summary = runtime.run()
    per = summary["sessions"]
    ok_motion = all(s["motion_frames"] >= 0.98 * 60 * s["t_audio_s"] - 3 and s["samples_lost"] == 0
                    and s["t_audio_s"] >= summary["elapsed_s"] - 0.5 and s["latency_ms_p95"] <= MAX_P95_MS
                    for s in per.values())
    ok_frames = not frames or all(s["dropped_frames"] == 0 and s["frames"] >= 0.98 * 30 * s["t_audio_s"] - 3
                                  for s in per.values())
    out = {"sessions": n, "ok": bool(ok_motion and ok_frames), "cpu_percent": summary["cpu_percent"],
           "motion_fps_min": min(s["motion_fps"] for s in per.values()),
           "latency_ms_p50_max": max(s["latency_ms_p50"] for s in per.values()),
           "latency_ms_p95_max": max(s["latency_ms_p95"] for s in per.values())}
    if frames:
        out.update(frame_fps_min=min(s["frame_fps"] for s in per.values()),
                   dropped_frames=sum(s["dropped_frames"] for s in per.values()),
                   frame_latency_ms_p50_max=max(s["frame_latency_ms_p50"] for s in per.values()))
    del runtime
    gc.collect()
    return out


def bench_capacity(path: Path, sessions, capacity_s: float) -> dict:
    out = {}
    for mode, frames in (("params_only", False), ("with_frames", True)):
        runs, best = [], 0
        for n in sessions:
            run = run_sessions(n, path, frames, capacity_s)
            runs.append(run)
            if not run["ok"]:
                break
            best = n
        out[mode] = {"max_sessions_at_full_rate": best, "runs": runs}
    return out


def bench_e2e(duration_s: float = 20.0, sessions=(1, 2, 3, 4, 6, 8, 12, 16, 24, 32), capacity_s: float = 10.0,
              capacity: bool = True) -> dict:
    """(a) end-to-end latency of parameters and frames, (b) concurrent sessions at full rate; JSON-ready."""
    import soundfile as sf

    from facecast.runtime.workshop.bench import machine_info

    if not 2.0 <= duration_s <= 25.0:
        raise ValueError(f"duration_s={duration_s} outside 2..25 (the session's audio ring holds 30 s)")
    machine = machine_info()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        result = {"duration_s": duration_s, "latency": bench_latency(speech_clip(duration_s), tmp)}
        if capacity:
            path = tmp / "loop.wav"
            sf.write(str(path), speech_clip(8.0), SAMPLE_RATE_HZ, subtype="FLOAT")
            result["capacity"] = {"seconds_per_run": capacity_s, "fps": 30, "motion_hz": 60,
                                  **bench_capacity(path, sessions, capacity_s)}
    result["machine"] = machine
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(bench_e2e(), indent=2, default=str))
