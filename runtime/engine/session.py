"""One live session: an audio source feeding a ring, a MotionStream, queued control changes, optional frames.

`Session.pump` runs on the runtime's loop thread; `push_audio` and the audio sources on their own threads.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from facecast.bridge.protocol import ProtocolError
from facecast.bridge.pubsub import Publisher
from facecast.runtime.engine.audio import AudioRing, FileSource, MicSource, PushSource
from facecast.runtime.engine.config import RuntimeConfig
from facecast.runtime.engine.motion.engine import MotionEngine
from facecast.runtime.engine.motion.stream import MotionStream

SAMPLE_RATE_HZ = 16000
# A push session's clock may run this far ahead of the pushed audio before silence fills the gap:
# enough to absorb a TTS engine's delivery jitter, small enough that idle motion keeps going.
PUSH_JITTER_S = 0.2
# A microphone silent for this long is taken as gone: silence keeps the stream (idle motion) going
# until its audio comes back. Longer than any callback jitter, short enough not to look frozen.
MIC_GAP_S = 0.3


LIPS_CHOICES = ("model", "model-vad", "energy")
LIPS_HELP = ("model: the lip-sync model; model-vad: the same, its pauses decided with voice activity (better on real "
             "voices with a clean microphone, worse with other voices in the pauses); energy: the loudness baseline")


def make_lips(kind: str, device: str = "auto"):
    """"model": the shipped ONNX lip-sync model; "model-vad": the same with the voice activity gate
    (motion/voice_activity.py: better on real voices, worse with other voices in the pauses); "energy": the
    loudness baseline."""
    from facecast.runtime.engine.motion import lips

    if kind == "energy":
        return lips.EnergyLips()
    if kind in ("model", "model-vad"):
        return lips.LipModel(device=device, voice_gate=kind == "model-vad")
    raise ValueError(f"unknown lip model {kind!r}; use 'model', 'model-vad' or 'energy'")


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
        self.image = str(config.image or "")  # the portrait, for session events
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
                                               f"{self.kind}; push to a session made with create_session, "
                                               f"or start the runtime with --listen")
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
        lost = span.start_index - self.cursor
        if lost:  # the ring overflowed during a stall: the motion clock jumps with the audio it lost
            self.stats.samples_lost += lost
            self.stream.skip(lost)
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
                if self.frames is not None:
                    self.frames.skip_until(tf.frame.t_audio_s)
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
