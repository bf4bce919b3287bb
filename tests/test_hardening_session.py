"""A live session keeps its books straight through what a busy machine does to it: a stall long enough to
overflow the audio ring, and a pause. The session is driven by hand (its audio written, its loop pumped
here), so every check is on stream positions and counts, none on timing."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from facecast.bridge.pubsub import Publisher
from facecast.bridge.schema import BLENDSHAPE_NAMES
from facecast.runtime.engine.audio import AudioRing
from facecast.runtime.engine.config import SAMPLE_SPEECH, RuntimeConfig
from facecast.runtime.engine.frames import FrameWorker
from facecast.runtime.engine.motion.lips import EnergyLips
from facecast.runtime.engine.session import SAMPLE_RATE_HZ, Session

JAW = BLENDSHAPE_NAMES.index("jawOpen")
CHUNK = SAMPLE_RATE_HZ // 50  # 20 ms, as a sound card delivers


class _Recording:
    """The runtime's publisher, keeping (t_audio_s, jawOpen) of every motion frame the session sends."""

    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self.motion_frames: list[tuple[float, float]] = []

    def motion(self, session, t_audio_s, blendshapes, *rest):
        self.motion_frames.append((t_audio_s, float(blendshapes[JAW])))
        return self.publisher.motion(session, t_audio_s, blendshapes, *rest)

    def event(self, *args, **kwargs):
        return self.publisher.event(*args, **kwargs)


@pytest.fixture
def publisher():
    pub = Publisher("tcp://127.0.0.1:0")
    yield pub
    pub.close()


def _hand_fed_session(ring_s: float) -> Session:
    """A file session whose reader never starts: the test writes the ring as the reader would."""
    cfg = RuntimeConfig(lips="energy", audio_source="file", audio_path=SAMPLE_SPEECH, status_line=False)
    session = Session("clock", cfg, EnergyLips())
    session.ring = AudioRing(SAMPLE_RATE_HZ, capacity_s=ring_s)
    return session


def _bursts(duration_s: float, seed: int = 3) -> np.ndarray:
    """(n,) float32: loud noise bursts of 0.25..0.45 s at irregular intervals, silence between them;
    irregular so that no whole number of periods lines a shifted copy up with the original."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(duration_s * SAMPLE_RATE_HZ), np.float32)
    at = 0.2
    while at < duration_s:
        length = rng.uniform(0.25, 0.45)
        a, b = int(at * SAMPLE_RATE_HZ), int(min(at + length, duration_s) * SAMPLE_RATE_HZ)
        audio[a:b] = rng.normal(0, 0.3, b - a).astype(np.float32)
        at += length + rng.uniform(0.3, 0.7)
    return audio


def test_motion_stays_on_the_heard_audio_after_the_ring_overflows(publisher):
    session = _hand_fed_session(ring_s=1.0)
    out = _Recording(publisher)
    audio = _bursts(9.0)
    before_s, stall_s = 3.0, 3.4   # 3.4 s written unread into a 1 s ring: 2.4 s lost, not a burst period
    pos = 0

    def play(until_s: float, pump: bool) -> None:
        nonlocal pos
        while pos < int(until_s * SAMPLE_RATE_HZ):
            session.ring.write(audio[pos:pos + CHUNK])
            pos += len(audio[pos:pos + CHUNK])
            if pump:
                session.pump(out)

    play(before_s, pump=True)
    frames_before = len(out.motion_frames)
    play(before_s + stall_s, pump=False)   # the loop stalls: the ring keeps only its last second
    play(len(audio) / SAMPLE_RATE_HZ, pump=True)

    # everything written since the last pump but the ring's second (the first chunk after the stall included)
    lost = round(stall_s * SAMPLE_RATE_HZ) + CHUNK - session.ring.capacity_samples
    assert session.stats.samples_lost == lost
    t = np.array([f[0] for f in out.motion_frames])
    jaw = np.array([f[1] for f in out.motion_frames])
    step = np.diff(t)
    hz = session.stream.motion_hz
    # one jump, by the audio lost, at the stall; every other step one motion frame
    jumps = np.flatnonzero(step > 1.5 / hz)
    assert len(jumps) == 1 and jumps[0] >= frames_before - 1
    assert step[jumps[0]] == pytest.approx(1 / hz + lost / SAMPLE_RATE_HZ, abs=0.5 / hz)
    assert np.allclose(np.delete(step, jumps), 1 / hz, atol=1e-6)
    # the newest frame is as far behind the audio read as the lookahead, no more: no offset was left
    assert session.cursor / SAMPLE_RATE_HZ - t[-1] == pytest.approx(session.stream.lookahead_s, abs=2 / hz)

    # the mouth opens where the heard audio is loud: each frame against the samples at its own t_audio
    def loud_at(ts: np.ndarray) -> np.ndarray:
        index = np.clip((ts * SAMPLE_RATE_HZ).astype(int), 0, len(audio) - 1)
        window = np.abs(np.stack([audio[np.clip(index - k, 0, len(audio) - 1)] for k in range(0, 480, 16)]))
        return window.max(0) > 0

    after = slice(jumps[0] + 1 + int(0.3 * hz), None)  # past the few frames that blend the two sides
    inside, outside = loud_at(t[after]), ~loud_at(t[after] + 0.1) & ~loud_at(t[after] - 0.1)
    assert inside.sum() > 30 and outside.sum() > 30
    assert jaw[after][inside].mean() > 4 * jaw[after][outside].mean(), \
        (jaw[after][inside].mean(), jaw[after][outside].mean())


class _FakeRenderer:
    def render(self, frame):
        return np.full((32, 32, 3), 128, np.uint8)


class _InStep:
    """session.frames for the test: each motion frame goes to a real FrameWorker, and the test waits until
    a frame due is rendered, so the worker always keeps up: any dropped frame is bookkeeping, not load."""

    def __init__(self, worker: FrameWorker):
        self.worker = worker
        self.due = 0          # frames the worker should have rendered by now
        self._last_index = 0  # frame k shows t_audio = k / fps; frame 0 is never due

    def offer(self, frame, arrival_wall_s: float) -> None:
        self.worker.offer(frame, arrival_wall_s)
        index = math.floor(frame.t_audio_s * self.worker.fps + 1e-6)
        if index > self._last_index:
            self._last_index = index
            self.due += 1
            deadline = time.monotonic() + 60.0  # a guard against a hang, not a measurement
            while self.worker.published < self.due and time.monotonic() < deadline:
                time.sleep(0.001)
            assert self.worker.published == self.due, "the frame worker stopped rendering"

    def skip_until(self, t_audio_s: float) -> None:
        self.worker.skip_until(t_audio_s)

    def stop(self) -> None:
        self.worker.stop()


def test_a_pause_is_not_counted_as_dropped_frames(publisher):
    session = _hand_fed_session(ring_s=30.0)
    worker = FrameWorker("clock", _FakeRenderer(), publisher, fps=30, frame_format="rgb24").start()
    session.frames = in_step = _InStep(worker)
    out = _Recording(publisher)
    audio = _bursts(6.0)
    try:
        for pos in range(0, len(audio), CHUNK):
            seconds = pos / SAMPLE_RATE_HZ
            session.paused = 2.0 <= seconds < 4.0  # as the control socket's pause / resume set it
            session.ring.write(audio[pos:pos + CHUNK])
            session.pump(out)
    finally:
        worker.stop()
    t = np.array([f[0] for f in out.motion_frames])
    assert not ((t > 2.1) & (t < 3.9)).any(), "no motion while paused"
    assert worker.published == in_step.due > 100
    assert worker.dropped == 0, f"{worker.dropped} frames counted as dropped across a 2 s pause"
