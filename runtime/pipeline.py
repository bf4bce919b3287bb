"""The live runtime: sessions (audio source -> MotionStream) publishing on the wire, steered by control.

One loop thread pumps every session: it reads the new audio from the session's ring, turns it into motion
frames and publishes them at once. Control requests arrive on the control thread and are queued to the
loop (the engine is not thread-safe), except audio pushes, which go straight into the ring.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from facecast.bridge.control import ControlServer
from facecast.bridge.protocol import ProtocolError
from facecast.bridge.pubsub import Publisher
from facecast.bridge.security import CurveServer
from facecast.runtime.audio import AudioRing, FileSource, MicSource, PushSource
from facecast.runtime.config import RuntimeConfig
from facecast.runtime.motion.engine import MotionEngine
from facecast.runtime.motion.stream import MotionStream

SAMPLE_RATE_HZ = 16000
# A push session's clock may run this far ahead of the pushed audio before silence fills the gap:
# enough to absorb a TTS engine's delivery jitter, small enough that idle motion keeps going.
PUSH_JITTER_S = 0.2
# A microphone silent for this long is taken as gone: silence keeps the stream (idle motion) going
# until its audio comes back. Longer than any callback jitter, short enough not to look frozen.
MIC_GAP_S = 0.3


def make_lips(kind: str, device: str = "auto"):
    """"model": the shipped ONNX lip-sync model; "energy": the loudness baseline."""
    from facecast.runtime.motion import lips

    if kind == "energy":
        return lips.EnergyLips()
    if kind == "model":
        return lips.LipModel(device=device)
    raise ValueError(f"unknown lip model {kind!r}; use 'model' or 'energy'")


@dataclass
class SessionStats:
    published: int = 0
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=4096))  # depicted audio's arrival -> publish
    samples_lost: int = 0


class Session:
    """One avatar: an audio source feeding a ring, a MotionStream, queued control changes."""

    def __init__(self, session_id: str, config: RuntimeConfig, lips):
        self.id = session_id
        self.kind = config.audio_source
        self.ring = AudioRing(SAMPLE_RATE_HZ, capacity_s=30.0)
        self.stream = MotionStream(lips, MotionEngine(rate_hz=config.motion_hz, seed=config.seed))
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.stats = SessionStats()
        self.paused = False
        self.cursor = 0
        self._t0_mono = time.monotonic()
        self._pending: deque = deque()  # push sessions: frames waiting for their moment on the clock
        self.push: PushSource | None = None
        self.frames = None  # FrameWorker when this session renders video
        self.source = None
        self.events: queue.SimpleQueue = queue.SimpleQueue()  # (name, data) to publish from the loop
        self._seen_end = 0               # mic sessions: ring end at the last check ...
        self._seen_mono = time.monotonic()  # ... and when it last moved
        self._filled_to: int | None = None  # ring end after our own silence, while the mic is away
        if self.kind == "file":
            self.source = FileSource(config.audio_path, self.ring, realtime=True, loop=config.loop)
        elif self.kind == "mic":
            self.source = MicSource(self.ring, device=config.mic_device, on_event=self._on_audio_event)
        elif self.kind == "push":
            self.push = PushSource(self.ring)
        else:
            raise ValueError(f"unknown audio source {self.kind!r}")

    def start(self) -> None:
        self._t0_mono = time.monotonic()
        if self.source is not None:
            self.source.start()

    def stop(self) -> None:
        if self.source is not None:
            self.source.stop()
        if self.frames is not None:
            self.frames.stop()
        self.ring.close()

    @property
    def finished(self) -> bool:
        """A file session that played to its end and whose audio has all been turned into motion."""
        return (self.kind == "file" and self.source.finished.is_set()
                and self.cursor >= self.ring.end_index)

    def _on_audio_event(self, kind: str, message: str) -> None:
        """MicSource supervisor thread: device opened / lost / failed to reopen."""
        self.events.put(("audio_source", {"state": kind, "message": message, "source": self.kind}))

    def _bridge_mic_gap(self) -> None:
        """While the microphone delivers nothing, write silence at real-time pace so motion goes on idling."""
        now, end = time.monotonic(), self.ring.end_index
        if self._filled_to is not None and end > self._filled_to:
            self._filled_to = None  # the device writes again
        if end != self._seen_end and self._filled_to is None:
            self._seen_end, self._seen_mono = end, now
            return
        gap_s = now - self._seen_mono
        if self._filled_to is None and gap_s < MIC_GAP_S:
            return
        missing = int(gap_s * SAMPLE_RATE_HZ) - (end - self._seen_end)
        if missing > 0:
            self.ring.write(np.zeros(missing, np.float32))
        self._filled_to = self.ring.end_index

    def clock_s(self) -> float:
        return time.monotonic() - self._t0_mono

    def push_audio(self, args: dict, payload: bytes) -> dict:
        """Control thread: append a pushed chunk; reply with the stream seconds it occupies."""
        if self.push is None:
            raise ProtocolError("unsupported", f"session {self.id!r} takes its audio from its "
                                               f"{self.kind}; start the runtime with --listen to push audio")
        self._fill_silence()
        start = self.ring.end_index
        try:
            self.push.push(payload, args["sample_rate_hz"], args["channels"], args["fmt"])
        except ValueError as exc:
            raise ProtocolError("bad_args", f"push_audio: {exc}") from None
        end = self.ring.end_index
        return {"t_audio_start": start / SAMPLE_RATE_HZ, "t_audio_end": end / SAMPLE_RATE_HZ,
                "samples": end - start}

    def _fill_silence(self) -> None:
        """Keep a push session's audio clock running while nothing is pushed (idle motion goes on)."""
        behind = int((self.clock_s() - PUSH_JITTER_S) * SAMPLE_RATE_HZ) - self.ring.end_index
        if behind > 0:
            self.ring.write(np.zeros(behind, np.float32))

    def pump(self, publisher: Publisher) -> int:
        """Loop thread: apply control changes, turn new audio into motion, publish. Returns frames published."""
        while not self.commands.empty():
            self.commands.get_nowait()(self.stream.engine)
        if self.push is not None:
            self._fill_silence()
        elif self.kind == "mic":
            self._bridge_mic_gap()
        while not self.events.empty():
            name, data = self.events.get_nowait()
            publisher.event(self.id, name, data, t_audio_s=self.cursor / SAMPLE_RATE_HZ)
        span = self.ring.read_from(self.cursor)
        self.stats.samples_lost += span.start_index - self.cursor
        self.cursor = span.stop_index
        timed = self.stream.feed(span.samples) if len(span.samples) else []
        if self.kind == "file" and self.source.finished.is_set() and self.cursor >= self.ring.end_index:
            timed += self.stream.flush()
        self._pending.extend(timed)
        published = 0
        while self._pending:
            tf = self._pending[0]
            # pushed audio can arrive faster than real time: release each frame when the clock reaches it
            if self.push is not None and tf.frame.t_audio_s > self.clock_s() + self.stream.lookahead_s:
                break
            self._pending.popleft()
            if self.paused:
                continue
            f = tf.frame
            msg = publisher.motion(self.id, f.t_audio_s, f.blendshapes, f.head, f.gaze, f.visemes, f.speaking)
            try:
                # from the arrival of the audio this frame depicts: the lookahead wait is part of the latency
                depicted = min(int(round(f.t_audio_s * SAMPLE_RATE_HZ)) - 1, self.ring.end_index - 1)
                arrival = self.ring.arrival(depicted).wall_s
                self.stats.latencies_ms.append(max(0.0, msg.stamp.t_wall_s - arrival) * 1000.0)
            except IndexError:
                arrival = msg.stamp.t_wall_s  # that audio already left the ring; no latency sample
            if self.frames is not None:
                self.frames.offer(f, arrival)
            self.stats.published += 1
            published += 1
        return published


class Runtime:
    """Sessions + publisher + control server + the loop thread. `run()` blocks until done."""

    def __init__(self, config: RuntimeConfig):
        self.config = config
        self.lips = lambda: make_lips(config.lips, config.device)
        self.sessions: dict[str, Session] = {config.session: Session(config.session, config, self.lips())}
        curve = None
        if config.keys_dir:
            import zmq

            curve = CurveServer(zmq.Context.instance(), config.keys_dir)
        self._curve = curve
        self.publisher = Publisher(config.pub_endpoint, keys_dir=config.keys_dir, insecure=config.insecure, curve=curve)
        capabilities = ["motion", "set_emotion", "set_gaze", "set_head", "pause"]
        if config.audio_source == "push":
            capabilities.append("push_audio")
        if config.image is not None and config.frames:
            import torch

            # two cores: one for the render thread, the other for audio, motion and sockets
            torch.set_num_threads(1)
            from facecast.runtime.frames import FrameWorker

            for session in self.sessions.values():
                session.frames = FrameWorker(session.id, self._renderer(str(config.image)), self.publisher,
                                             config.fps, config.frame_format, config.jpeg_quality)
            capabilities += ["frames", "set_avatar"]
        self.control = ControlServer(
            config.control_endpoint, self._handlers(), capabilities=capabilities, info_extra=self._info_extra,
            keys_dir=config.keys_dir, insecure=config.insecure, curve=curve)
        self._stop = threading.Event()
        self.started_wall_s = 0.0

    def _renderer(self, image_path: str):
        """Prepare (or load the cached preparation of) a portrait and build its renderer."""
        from facecast.runtime.avatar.render import PortraitRenderer
        from facecast.runtime.render_cli import DEFAULT_CACHE, load_or_prepare

        avatar = load_or_prepare(image_path, {}, DEFAULT_CACHE)
        return PortraitRenderer(avatar, device=self.config.device)

    # -- control (runs on the control thread) --------------------------------------------------------

    def _set_avatar(self, args: dict, payload: bytes) -> dict:
        import tempfile

        from facecast.runtime.avatar.landmarks import NoFaceFound

        session = self._session(args)
        if session.frames is None:
            raise ProtocolError("unsupported", f"session {session.id!r} renders no frames (started without --image)")
        path = args["path"]
        try:
            if payload:
                with tempfile.NamedTemporaryFile(suffix=".img", delete=False) as tmp:
                    tmp.write(payload)
                path = tmp.name
            elif not path:
                raise ProtocolError("bad_args", "set_avatar: give `path` or the image bytes as the payload")
            renderer = self._renderer(path)
        except FileNotFoundError as exc:
            raise ProtocolError("not_found", f"set_avatar: {exc}") from None
        except (NoFaceFound, ValueError, OSError) as exc:
            raise ProtocolError("bad_args", f"set_avatar: {exc}") from None
        session.frames.set_renderer(renderer)
        return {"session": session.id, "avatar": args["path"] or f"{len(payload)} bytes"}

    def _session(self, args: dict) -> Session:
        session = self.sessions.get(args["session"])
        if session is None:
            raise ProtocolError("not_found", f"no session {args['session']!r}; sessions: {sorted(self.sessions)}")
        return session

    def _queued(self, method: str):
        def handler(args: dict, payload: bytes) -> dict:
            session = self._session(args)
            kwargs = {k: v for k, v in args.items() if k != "session"}
            session.commands.put(lambda engine: getattr(engine, method)(**kwargs))
            return {"session": session.id, method.removeprefix("set_"): kwargs}
        return handler

    def _pause(self, paused: bool):
        def handler(args: dict, payload: bytes) -> dict:
            self._session(args).paused = paused
            return {"session": args["session"], "paused": paused}
        return handler

    def _handlers(self) -> dict:
        handlers = {
            "set_emotion": self._queued("set_emotion"),
            "set_gaze": self._queued("set_gaze"),
            "set_head": self._queued("set_head"),
            "pause": self._pause(True),
            "resume": self._pause(False),
            "list_sessions": lambda args, payload: {"sessions": self._sessions_info()},
        }
        if self.config.audio_source == "push":
            handlers["push_audio"] = lambda args, payload: self._session(args).push_audio(args, payload)
        if self.config.image is not None and self.config.frames:
            handlers["set_avatar"] = self._set_avatar
        return handlers

    def _sessions_info(self) -> list[dict]:
        return [{"session": s.id, "source": s.kind, "paused": s.paused, "t_audio": s.cursor / SAMPLE_RATE_HZ}
                for s in list(self.sessions.values())]

    def _info_extra(self) -> dict:
        return {"sessions": [s.id for s in list(self.sessions.values())],
                "endpoints": {"pub": self.publisher.endpoint, "control": self.control.endpoint},
                "motion_hz": self.config.motion_hz}

    # -- loop ----------------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> dict:
        """Run until every file session finished, duration_s passed, stop() or Ctrl-C. Returns the summary."""
        cfg = self.config
        self.control.start()
        for session in self.sessions.values():
            session.start()
            if session.frames is not None:
                session.frames.start()
        self.started_wall_s = time.time()
        t_start = time.monotonic()
        next_report = t_start + 1.0
        cpu_start = cpu_last = time.process_time()
        wall_last = t_start
        try:
            while not self._stop.is_set():
                busy = sum(s.pump(self.publisher) for s in list(self.sessions.values()))
                now = time.monotonic()
                if now >= next_report:
                    cpu = time.process_time()
                    self._report(cpu_percent=100.0 * (cpu - cpu_last) / max(now - wall_last, 1e-6))
                    cpu_last, wall_last, next_report = cpu, now, now + 1.0
                if cfg.duration_s is not None and now - t_start >= cfg.duration_s:
                    break
                if all(s.finished for s in self.sessions.values()):
                    break
                if not busy:
                    time.sleep(0.002)
        except KeyboardInterrupt:
            pass
        finally:
            if cfg.status_line and sys.stderr.isatty():
                print(file=sys.stderr)
            elapsed = time.monotonic() - t_start
            for session in self.sessions.values():
                if session.frames is not None:
                    session.frames.stop()  # so the summary counts every frame that went out
            summary = self._summary(elapsed, 100.0 * (time.process_time() - cpu_start) / max(elapsed, 1e-6))
            self.close()
        return summary

    def _report(self, cpu_percent: float) -> None:
        parts = []
        for s in list(self.sessions.values()):
            lat = np.array(s.stats.latencies_ms) if s.stats.latencies_ms else np.array([np.nan])
            data = {"motion_hz": self.config.motion_hz, "published": s.stats.published,
                    "latency_ms_p50": float(np.nanpercentile(lat, 50)),
                    "latency_ms_p95": float(np.nanpercentile(lat, 95)),
                    "samples_lost": s.stats.samples_lost, "cpu_percent": round(cpu_percent, 1),
                    "paused": s.paused}
            if s.frames is not None:
                flat = np.array(s.frames.latencies_ms) if s.frames.latencies_ms else np.array([np.nan])
                data.update(frames_published=s.frames.published, dropped_frames=s.frames.dropped,
                            frame_latency_ms_p50=float(np.nanpercentile(flat, 50)))
            self.publisher.event(s.id, "stats", data, t_audio_s=s.cursor / SAMPLE_RATE_HZ)
            parts.append(f"{s.id}: t_audio {s.cursor / SAMPLE_RATE_HZ:6.2f} s, {s.stats.published} frames, "
                         f"latency p50 {data['latency_ms_p50']:5.1f} ms p95 {data['latency_ms_p95']:5.1f} ms")
        if self.config.status_line and sys.stderr.isatty():
            print(f"\r[facecast] {' | '.join(parts)}, cpu {cpu_percent:4.0f}%   ", end="", file=sys.stderr, flush=True)

    def _summary(self, elapsed_s: float, cpu_percent: float) -> dict:
        out = {"elapsed_s": round(elapsed_s, 2), "cpu_percent": round(cpu_percent, 1), "sessions": {}}
        for s in self.sessions.values():
            lat = np.array(s.stats.latencies_ms) if s.stats.latencies_ms else np.array([np.nan])
            out["sessions"][s.id] = {
                "motion_frames": s.stats.published,
                "motion_fps": round(s.stats.published / max(elapsed_s, 1e-6), 2),
                "t_audio_s": round(s.cursor / SAMPLE_RATE_HZ, 3),
                "latency_ms_p50": round(float(np.nanpercentile(lat, 50)), 2),
                "latency_ms_p95": round(float(np.nanpercentile(lat, 95)), 2),
                "lookahead_ms": round(s.stream.lookahead_s * 1000, 1),
                "samples_lost": s.stats.samples_lost,
            }
            if s.frames is not None:
                w = s.frames
                flat = np.array(w.latencies_ms) if w.latencies_ms else np.array([np.nan])
                rms = np.array(w.render_ms) if w.render_ms else np.array([np.nan])
                out["sessions"][s.id].update(
                    frames=w.published, frame_fps=round(w.published / max(elapsed_s, 1e-6), 2),
                    dropped_frames=w.dropped, frame_format=w.frame_format,
                    frame_latency_ms_p50=round(float(np.nanpercentile(flat, 50)), 2),
                    frame_latency_ms_p95=round(float(np.nanpercentile(flat, 95)), 2),
                    render_ms_p50=round(float(np.nanpercentile(rms, 50)), 2))
        return out

    def close(self) -> None:
        for session in self.sessions.values():
            session.stop()
        self.control.stop()
        self.publisher.close()
        if self._curve is not None:
            self._curve.stop()
