"""MotionStream: 16 kHz audio in, MotionFrames out, as soon as the audio they need has arrived.

    audio ─► MelStream ─┬► lip model (lookahead L frames) ─► viseme rows ─► gate ─► rows at 100 Hz ─┐
          │             └► LoudnessOpen ─► relative loudness at 100 Hz (jaw drive) ──────────────┤
          ├► VoiceActivity (Silero VAD, 32 ms chunks) ─► P(speech) ─► gate                        │
          └► ProsodyTracker (10 ms hops) ─────────────────────────────────────────────────────┴► MotionEngine @ motion_hz

The gate (voice_activity.gate_silence) takes the pause weight out of rows the voice activity model calls
speech and the open visemes out of rows it calls non-speech: the lip model, trained on synthetic voices,
decides speech-or-pause worse on real voices than a detector trained on real ones.

Motion frame i shows the mouth for the audio interval ((i-1)/motion_hz, i/motion_hz] and is stamped
t_audio = i/motion_hz. Real lips move before the sound they shape, and the mouth's smoothing (mouth.py)
takes time to reach a pose, so the mouth of frame i is driven by the viseme rows `lead_s` AHEAD of its
interval: the rows whose centres lie in ((i-1)/motion_hz + lead_s, i/motion_hz + lead_s], and the mean relative
loudness of the same mel frames opens the jaw further on loud syllables (mouth.LOUDNESS_JAW_GAIN). The frame is
emitted once the lip model has produced every one of those rows, i.e. once the audio up to the end of mel
frame (last row + L) has arrived; `needed_sample_index` says which sample that was, so latency can be measured from that
sample's arrival (lookahead and lead included, never hidden). Head, eyes and prosody follow the frame's
own interval.
The same code serves live runs and offline baking: feed the whole file, collect the frames.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from .engine import MotionEngine
from .features import HOP, MelStream
from .frame import MotionFrame
from .lips import LoudnessOpen
from .prosody import HOP_S, ProsodyTracker
from .voice_activity import VoiceActivity, chunk_of_row, gate_silence

FRAME_RATE_HZ = 100  # mel / viseme rows per second
# How far ahead of a frame's audio its mouth looks. With the mouth's quick attack/release (mouth.py) this puts
# the lip aperture 1-15 ms BEFORE the phones against raw phone boundaries on held-out voices, languages, rooms
# and real speech (BENCHMARKS.md, lip sync), as real lips anticipate the sound. It costs latency: at 60 Hz a
# frame waits for one more 10 ms viseme row (two for every third frame), so audio -> parameters p50 grows by
# 10 ms; 20 ms would need two more rows for most frames and pass 60 ms.
MOUTH_LEAD_S = 0.015


@dataclass
class TimedFrame:
    """A motion frame and the index of the last audio sample it depended on."""

    frame: MotionFrame
    needed_sample_index: int


class MotionStream:
    """Streaming glue between audio, the lip model and the motion engine (one session).

    lips: LipModel or EnergyLips (step(mel (T, 80)) -> (T, 15), lookahead_frames).
    engine: MotionEngine (its rate_hz is the motion frame rate).
    lead_s: how far ahead of its audio a frame's mouth looks, 0..0.1 s (default MOUTH_LEAD_S).
    voice_activity: gate the rows with voice_activity.VoiceActivity (default: as the lips ask, their
      `voice_gate` attribute; LipModel(voice_gate=True), `--lips model-vad` on the command line). With lips
      that look MIN_LOOKAHEAD_FRAMES or more ahead the gate costs no latency; with fewer, frames wait for it.
    """

    def __init__(self, lips, engine: MotionEngine, lead_s: float | None = None, voice_activity: bool | None = None):
        lead_s = MOUTH_LEAD_S if lead_s is None else lead_s
        if not 0.0 <= lead_s <= 0.1:
            raise ValueError(f"lead_s {lead_s} outside 0..0.1 s (how far ahead of its audio a frame's mouth looks)")
        if voice_activity is None:
            voice_activity = bool(getattr(lips, "voice_gate", False))
        self.voice = VoiceActivity() if voice_activity else None
        self._speech: deque[tuple[int, float]] = deque()  # (VAD chunk index, P(speech))
        self._ungated: deque[tuple[int, np.ndarray]] = deque()  # rows waiting for their chunk's P(speech)
        self.lips = lips
        self.lead_s = float(lead_s)
        self.engine = engine
        self.motion_hz = engine.rate_hz
        self.mel = MelStream()
        self.prosody = ProsodyTracker()
        self._rows: deque[tuple[int, np.ndarray]] = deque()  # (viseme frame index, (15,) row)
        self.loudness = LoudnessOpen()
        self._loud: deque[tuple[int, float]] = deque()  # (mel frame index, relative loudness 0..1)
        self._rows_done = 0          # viseme rows produced so far (frames 0 .. _rows_done-1)
        self._feats: deque = deque()  # ProsodyFeatures not yet given to the engine
        self._next_motion = 1        # index of the next motion frame to emit
        self.samples_in = 0
        self._skipped = 0            # samples lost before the audio fed (skip): added to every later stamp

    @property
    def lookahead_s(self) -> float:
        """How much audio past a frame's t_audio must be heard before the frame exists: the lip model's
        lookahead plus the mouth's lead."""
        return self.lips.lookahead_frames / FRAME_RATE_HZ + self.lead_s

    def skip(self, n_samples: int) -> None:
        """n_samples of the stream were lost (an overflowed ring after a stall): the audio fed next comes
        that much later, so later frames are stamped that much later and t_audio stays on what is heard.
        The features carry on across the gap as if it were not there (a few frames blend the two sides)."""
        self._skipped += int(n_samples)
        self.samples_in += int(n_samples)

    def feed(self, samples: np.ndarray) -> list[TimedFrame]:
        """samples: (n,) float32 16 kHz mono, the next audio of the stream. Returns the frames now complete."""
        samples = np.asarray(samples, np.float32)
        self.samples_in += len(samples)
        chunk = self.mel.push(samples)
        if self.voice is not None:
            first = self.voice.chunks_done
            self._speech.extend(enumerate(self.voice.push(samples).tolist(), start=first))
        if len(chunk.mel):
            rows = self.lips.step(chunk.mel)
            self._loud.extend(zip(range(chunk.start_frame, chunk.start_frame + len(chunk.mel)),
                                  self.loudness.step(chunk.mel).tolist()))
            lookahead = self.lips.lookahead_frames
            for i, row in enumerate(rows):
                index = chunk.start_frame + i - lookahead
                if index >= 0:  # rows before frame 0 describe the silence before the stream
                    self._ungated.append((index, row))
        self._gate_rows()
        self._feats.extend(self.prosody.push(samples))
        return self._emit()

    def _gate_rows(self) -> None:
        """Move the rows whose VAD chunk is scored from _ungated to _rows, gated; rows wait (and _rows_done
        stops before them) only when the lips look fewer than voice_activity.MIN_LOOKAHEAD_FRAMES ahead."""
        self._rows_done = max(0, self.mel.frames_emitted - self.lips.lookahead_frames)
        if self.voice is None:
            self._rows.extend(self._ungated)
            self._ungated.clear()
            return
        ready = []
        while self._ungated and chunk_of_row(self._ungated[0][0]) < self.voice.chunks_done:
            ready.append(self._ungated.popleft())
        if ready:
            probs = [self._speech_prob(chunk_of_row(index)) for index, _ in ready]
            gated = gate_silence(np.stack([row for _, row in ready]), np.array(probs))
            self._rows.extend(zip([index for index, _ in ready], gated))
        if self._ungated:
            self._rows_done = min(self._rows_done, self._ungated[0][0])

    def _speech_prob(self, chunk_index: int) -> float:
        while self._speech and self._speech[0][0] < chunk_index:  # rows come in order: older chunks are done
            self._speech.popleft()
        return self._speech[0][1]

    def _emit(self) -> list[TimedFrame]:
        out = []
        while True:
            t0 = (self._next_motion - 1) / self.motion_hz
            t1 = self._next_motion / self.motion_hz
            if self.lead_s > 0.0:
                # the mouth looks lead_s ahead: rows lo..hi-1 are those whose centre (k + 0.5) / 100 lies in
                # (t0 + lead_s, t1 + lead_s]
                lo = int(math.floor((t0 + self.lead_s) * FRAME_RATE_HZ + 0.5 + 1e-9))
                hi = int(math.floor((t1 + self.lead_s) * FRAME_RATE_HZ + 0.5 + 1e-9))
            else:  # rows lo..hi-1 overlap (t0, t1]
                lo = int(math.floor(t0 * FRAME_RATE_HZ + 1e-9))
                hi = int(math.ceil(t1 * FRAME_RATE_HZ - 1e-9))
            if hi > self._rows_done:
                return out
            rows = _window(self._rows, lo, hi)
            visemes = np.mean(rows, axis=0) if rows else None
            loud = _window(self._loud, lo, hi)
            feats = []
            while self._feats and self._feats[0].t_s <= t1 + 1e-9:
                feats.append(self._feats.popleft())
            frame = self.engine.step(t1, visemes, feats, jaw_drive=float(np.mean(loud)) if loud else 0.0)
            # the last row used needs mel frame (hi - 1 + L), which ends at sample (hi + L) * HOP (hi includes the lead)
            needed = (hi + self.lips.lookahead_frames) * HOP - 1
            if self._skipped:
                frame.t_audio_s += self._skipped / 16000
                needed += self._skipped
            out.append(TimedFrame(frame, needed))
            self._next_motion += 1

    def flush(self) -> list[TimedFrame]:
        """End of stream: pad with the lookahead's (and lead's) worth of silence so the last frames come out."""
        pad = np.zeros((self.lips.lookahead_frames + int(math.ceil(self.lead_s * FRAME_RATE_HZ)) + 2) * HOP, np.float32)
        return [tf for tf in self.feed(pad) if tf.frame.t_audio_s <= (self.samples_in - len(pad)) / 16000 + 1e-9]


def _window(queue: deque, lo: int, hi: int) -> list:
    """queue: (frame index, value) pairs in index order. Drops the pairs before frame lo (no later motion frame
    needs them) and returns the values of frames lo..hi-1."""
    while queue and queue[0][0] < lo:
        queue.popleft()
    return [value for index, value in queue if index < hi]


def bake(audio_16k: np.ndarray, lips, engine: MotionEngine, progress=None,
         voice_activity: bool | None = None) -> list[MotionFrame]:
    """Whole clip -> its motion frames (t_audio from 1/motion_hz to the clip's end), as the live path makes them.

    progress: optional callable(done_samples, total_samples) for long files.
    voice_activity: as MotionStream's.
    """
    stream = MotionStream(lips, engine, voice_activity=voice_activity)
    audio = np.asarray(audio_16k, np.float32)
    frames: list[MotionFrame] = []
    step = 16000  # one second at a time: the same result as any chunking, bounded memory per call
    for start in range(0, len(audio), step):
        frames.extend(tf.frame for tf in stream.feed(audio[start:start + step]))
        if progress is not None:
            progress(min(start + step, len(audio)), len(audio))
    frames.extend(tf.frame for tf in stream.flush())
    return frames


assert HOP_S == 1.0 / FRAME_RATE_HZ
