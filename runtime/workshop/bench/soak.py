"""Soak test of the live runtime under abuse: `facecast bench soak --minutes 10 --json`.

One runtime process, for `minutes`:
- session "default": a microphone (MicSource with a paced fake device playing the bundled speech in 10 ms
  blocks) that is unplugged for `unplug_s` every minute and comes back (MicSource reports lost / reopens;
  the session bridges the gap with silence), rendering JPEG frames at 30 fps;
- session "npc": created over control, speech pushed in 200 ms chunks at real-time pace (a game's NPC);
- a subscriber in a separate process receiving every motion and frame message (latency, per minute);
- subscribers joining and leaving every few seconds (in-process, random kinds, random lifetimes);
- a stalled subscriber: connected for the whole run, never reading;
- a control client sending garbage every 20 ms (random bytes, wrong types, unknown commands, bad args,
  oversized maps, extra parts), re-connecting every 30 s.
Measured: runtime RSS every 5 s (bound: growth after the first minute <= `rss_bound_mib`), latency p50/p95 of
parameters and frames of the microphone session per minute (audio arrival -> receipt by the separate
subscriber, arrival read from the runtime's ring as in bench e2e), dropped frames, mic events, whether the
runtime still answers control at the end.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import threading
import time
import traceback

import msgpack
import numpy as np

from facecast.runtime.workshop.bench import speech_clip

SAMPLE_RATE_HZ = 16000


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class FakeMic:
    """A paced stand-in for sounddevice.InputStream playing `audio` (16 kHz) in blocks; `plugged` is shared."""

    audio: np.ndarray = np.zeros(16000, np.float32)
    plugged = threading.Event()

    def __init__(self, device, samplerate, channels, dtype, blocksize, callback, finished_callback):
        if not FakeMic.plugged.is_set():
            raise OSError("fake microphone unplugged")
        self.block, self.callback, self.finished = blocksize, callback, finished_callback
        self.active = False
        self._thread = threading.Thread(target=self._run, name="facecast-fake-mic", daemon=True)

    def start(self):
        self.active = True
        self._thread.start()

    def _run(self):
        pcm = (np.clip(FakeMic.audio, -1, 1) * 32767).astype(np.int16)
        t0, n = time.monotonic(), 0
        while self.active:
            if not FakeMic.plugged.is_set():  # the device vanished: PortAudio ends the stream
                self.active = False
                self.finished()
                return
            due = t0 + (n + self.block) / SAMPLE_RATE_HZ
            time.sleep(max(0.0, due - time.monotonic()))
            i = n % (len(pcm) - self.block)
            self.callback(pcm[i:i + self.block, None], self.block, None, None)
            n += self.block

    def abort(self):
        self.active = False

    def close(self):
        self.active = False


def _subscriber_main(endpoint: str, ready, done, out) -> None:
    """Separate process: batches of (kind, session, t_audio_s, recv_wall_s) every second."""
    try:
        from facecast.bridge.pubsub import Subscriber

        sub = Subscriber(endpoint, kinds=("motion", "frame", "event"), param_queue=100000, rcvhwm=100000)
        batch, last = [], time.monotonic()
        while not done.is_set():
            msg = sub.recv(timeout_s=0.05)
            if msg is not None:
                kind = type(msg).__name__
                if kind == "EventMessage":
                    ready.set()
                else:
                    batch.append((kind[0], msg.stamp.session, msg.stamp.t_audio_s, msg.stamp.recv_wall_s))
            if time.monotonic() - last > 1.0:
                out.send(batch)
                batch, last = [], time.monotonic()
        out.send(batch)
        sub.close()
    except BaseException:
        out.send({"error": traceback.format_exc()})


def _garbage(stop: threading.Event, endpoint: str, counts: dict) -> None:
    import zmq

    ctx = zmq.Context.instance()
    rng = random.Random(1)
    sock, born = None, 0.0
    junk = [lambda: os.urandom(rng.randint(0, 300)), lambda: msgpack.packb([1, 2, 3]),
            lambda: msgpack.packb({"v": 1, "id": "x", "cmd": 5}),
            lambda: msgpack.packb({"v": "9.0", "id": 1, "cmd": "info", "args": {}}),
            lambda: msgpack.packb({"v": "1.0", "id": 2, "cmd": "no_such", "args": {}}),
            lambda: msgpack.packb({"v": "1.0", "id": 3, "cmd": "set_emotion", "args": {"emotion": "joy"}}),
            lambda: msgpack.packb({"v": "1.0", "id": 4, "cmd": "set_head", "args": {"yaw_deg": float("nan")}}),
            lambda: msgpack.packb({"v": "1.0", "id": 5, "cmd": "info", "args": {"x": "y" * 70000}}),
            lambda: msgpack.packb({"v": "1.0", "id": 6, "cmd": "remove_session", "args": {"session": "nobody"}}),
            lambda: msgpack.packb({"v": "1.0", "id": 7, "cmd": "create_session", "args": {"session": "npc"}})]
    while not stop.is_set():
        if sock is None or time.monotonic() - born > 30:
            if sock is not None:
                sock.close(linger=0)
            sock, born = ctx.socket(zmq.DEALER), time.monotonic()
            sock.linger = 0
            sock.connect(endpoint)
        parts = [rng.choice(junk)()] + ([os.urandom(8)] * rng.randint(0, 2) if rng.random() < 0.2 else [])
        try:
            sock.send_multipart(parts, zmq.NOBLOCK)
            counts["sent"] += 1
        except zmq.Again:
            pass
        while sock.poll(0):
            sock.recv_multipart()
            counts["replies"] += 1
        stop.wait(0.02)
    sock.close(linger=0)


def _churn(stop: threading.Event, endpoint: str, counts: dict) -> None:
    from facecast.bridge.pubsub import Subscriber

    rng = random.Random(2)
    while not stop.is_set():
        kinds = rng.choice([("motion",), ("frame",), ("motion", "frame", "event")])
        sub = Subscriber(endpoint, kinds=kinds)
        end = time.monotonic() + rng.uniform(0.5, 3.0)
        while time.monotonic() < end and not stop.is_set():
            if sub.recv(timeout_s=0.05) is not None:
                counts["received"] += 1
        sub.close()
        counts["joins"] += 1
        stop.wait(rng.uniform(0.2, 2.0))


def _pusher(stop: threading.Event, endpoint: str, audio: np.ndarray, counts: dict) -> None:
    from facecast.bridge.control import ControlClient

    pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16)
    chunk = SAMPLE_RATE_HZ // 5
    with ControlClient(endpoint, timeout_s=10) as ctl:
        t0, i = time.monotonic(), 0
        while not stop.is_set():
            j = (i * chunk) % (len(pcm) - chunk)
            ctl.request("push_audio", session="npc", payload=pcm[j:j + chunk].tobytes(), sample_rate_hz=SAMPLE_RATE_HZ)
            counts["pushed"] += 1
            i += 1
            stop.wait(max(0.0, t0 + i * 0.2 - time.monotonic()))


def bench_soak(minutes: float = 10.0, unplug_s: float = 3.0, rss_bound_mib: float = 32.0) -> dict:
    import zmq

    from facecast.bridge.control import ControlClient
    from facecast.runtime.engine.audio import MicSource
    from facecast.runtime.workshop.bench import machine_info
    from facecast.runtime.engine.config import SAMPLE_PORTRAIT, RuntimeConfig
    from facecast.runtime.engine.pipeline import Runtime

    audio = speech_clip(30.0)
    FakeMic.audio = audio
    FakeMic.plugged.set()
    cfg = RuntimeConfig(audio_source="mic", audio_path=None, lips="model", device="cpu", image=SAMPLE_PORTRAIT,
                        fps=30, pub_endpoint="tcp://127.0.0.1:0", control_endpoint="tcp://127.0.0.1:0",
                        status_line=False)
    runtime = Runtime(cfg)
    mic_session = runtime.sessions["default"]
    mic_events: list[str] = []

    def on_event(kind, message):
        mic_events.append(kind)
        mic_session._on_audio_event(kind, message)

    mic_session.source = MicSource(mic_session.ring, sample_rate_hz=SAMPLE_RATE_HZ, retry_interval_s=0.5,
                                   on_event=on_event, stream_factory=FakeMic, reinit_portaudio_on_retry=False)
    pub, control = runtime.publisher.endpoint, runtime.control.endpoint
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    recv_end, send_end = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_subscriber_main, args=(pub, ready, done, send_end))
    proc.start()
    rt_thread = threading.Thread(target=runtime.run, name="facecast-runtime", daemon=True)
    rt_thread.start()
    while not ready.wait(0.01):
        runtime.publisher.event("default", "hello", {})
    with ControlClient(control, timeout_s=20) as ctl:
        ctl.request("create_session", session="npc", frames=False)
    stop = threading.Event()
    counts = {"sent": 0, "replies": 0, "received": 0, "joins": 0, "pushed": 0}
    stalled = zmq.Context.instance().socket(zmq.SUB)  # connected for the whole run, never read
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.connect(pub)
    helpers = [threading.Thread(target=f, args=a, daemon=True) for f, a in (
        (_garbage, (stop, control, counts)), (_churn, (stop, pub, counts)), (_pusher, (stop, control, audio, counts)))]
    for h in helpers:
        h.start()
    t_start = time.monotonic()
    rss, per_minute = [], []
    lat = {"M": [], "F": [], "npc": []}
    next_rss, minute, unplugged_at = t_start, 0, None
    try:
        while (now := time.monotonic()) - t_start < minutes * 60:
            if recv_end.poll(0.2):
                batch = recv_end.recv()
                if isinstance(batch, dict):
                    raise RuntimeError(f"subscriber failed: {batch['error']}")
                for kind, sid, t_audio_s, recv_wall_s in batch:
                    session = runtime.sessions.get(sid)
                    if session is None:
                        continue
                    try:
                        arrival = session.ring.arrival(int(round(t_audio_s * SAMPLE_RATE_HZ)) - 1).wall_s
                    except IndexError:
                        continue
                    key = kind if sid == "default" else ("npc" if kind == "M" else None)
                    if key:
                        lat[key].append((recv_wall_s - arrival) * 1000)
            elapsed = now - t_start
            if now >= next_rss:
                rss.append((round(elapsed, 1), round(rss_mib(), 1)))
                next_rss += 5.0
            if unplugged_at is None and elapsed % 60 > 30 and elapsed // 60 == minute:
                FakeMic.plugged.clear()
                unplugged_at = now
            if unplugged_at is not None and now - unplugged_at > unplug_s:
                FakeMic.plugged.set()
            if elapsed >= (minute + 1) * 60:
                per_minute.append(_minute(minute + 1, lat, mic_session.frames.dropped, mic_events))
                mic_events.clear()
                lat = {"M": [], "F": [], "npc": []}
                minute, unplugged_at = minute + 1, None
        if lat["M"]:  # the last (partial) minute
            per_minute.append(_minute(minute + 1, lat, mic_session.frames.dropped, mic_events))
        alive = rt_thread.is_alive()
        with ControlClient(control, timeout_s=5) as ctl:
            answers = ctl.request("list_sessions")["sessions"]
    finally:
        stop.set()
        FakeMic.plugged.set()
        for h in helpers:
            h.join(5)
        runtime.stop()
        rt_thread.join(10)
        done.set()
        proc.join(10)
        if proc.is_alive():
            proc.terminate()
        stalled.close(linger=0)
    after_first = [r for t, r in rss if t >= 60] or [r for _, r in rss]
    growth = round(max(after_first) - after_first[0], 1)
    p95s = [m["params_ms_p95"] for m in per_minute]
    return {"minutes": minutes, "runtime_alive": alive, "control_answers_at_end": [s["session"] for s in answers],
            "rss_mib": {"start": rss[0][1], "after_1_min": after_first[0], "max": max(r for _, r in rss),
                        "end": rss[-1][1], "growth_after_1_min": growth, "bound": rss_bound_mib,
                        "within_bound": growth <= rss_bound_mib, "samples": rss},
            "params_p95_first_last_min": [p95s[0], p95s[-1]] if p95s else None,
            "per_minute": per_minute, "helpers": counts, "machine": machine_info()}


def _minute(minute: int, lat: dict, dropped_total: int, mic_events: list) -> dict:
    return {"minute": minute, "rss_mib": round(rss_mib(), 1),
            "params_ms_p50": _p(lat["M"], 50), "params_ms_p95": _p(lat["M"], 95),
            "frames_ms_p50": _p(lat["F"], 50), "frames_ms_p95": _p(lat["F"], 95),
            "npc_params_ms_p95": _p(lat["npc"], 95), "frames_received": len(lat["F"]),
            "dropped_frames_total": dropped_total, "mic_events": list(mic_events)}


def _p(x, q) -> float:
    return round(float(np.percentile(x, q)), 2) if x else float("nan")
