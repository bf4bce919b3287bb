"""Voice activity for the mouth: Silero VAD on 32 ms chunks of the 16 kHz stream -> P(speech), and the gate
that lets it decide the one thing the lip model decides worst on real voices: speech or pause.

The lip model is trained on synthetic speech; on real voices it gives pause weight to speech frames (the lips
shut mid-word) and, less often, open visemes to pauses. Silero VAD (models/SILERO_VAD.md, MIT) was trained
on real speech of many languages; it cannot tell visemes apart and sees 32 ms at a time, but it tells speech
from non-speech. `gate_silence` uses it only for that: in confident speech the row's pause weight goes to the
other visemes where the lip model was unsure of its pause, in confident non-speech the open visemes' weight
goes to the pause. The closure (PP) weight is never moved, so a /p b m/ closure at the start of speech (silent
until its release) still seals the lips.

Latency: row k (the 10 ms mel frame k) is gated by the chunk holding its centre, chunk
floor((k + 0.5) * 160 / 512), which is complete 37 ms after frame k starts at the latest; a lip model with a
lookahead of >= 3 frames has heard that much before it emits row k, so the gate never delays a frame
(MIN_LOOKAHEAD_FRAMES; stream.MotionStream waits for the chunk when it has not).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecast.bridge.schema import VISEME_NAMES

from .features import HOP, SAMPLE_RATE_HZ

DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "silero_vad.onnx"
CHUNK = 512          # samples per P(speech) (32 ms): the chunk size the model was trained on at 16 kHz
CONTEXT = 64         # samples of the previous chunk the model sees in front of each chunk
MIN_LOOKAHEAD_FRAMES = 3
# P(speech) from SPEECH_RAMP[0] to [1] removes the pause weight from 0 to all of it; below NON_SPEECH_BELOW
# the open visemes' weight moves to the pause, all of it at P = 0. Chosen on the real English and Mandarin
# evaluation sets with the shipped lip model (BENCHMARKS.md): the figures barely move over 0.5-0.8 / 0.9-0.99
# and 0.03-0.2.
SPEECH_RAMP = (0.7, 0.95)
NON_SPEECH_BELOW = 0.1
# ... but only where the lip model itself is unsure: its pause weight is taken in full below UNSURE_PAUSE[0],
# not at all above UNSURE_PAUSE[1]. A pause filled with other voices, noise or reverb is speech to the voice
# activity model; the lip model, trained with babble, noise and reverb in its pauses, calls them pauses with
# weight ~0.99, while the speech it misses on real voices gets 0.65-0.89 (quartiles, real English).
UNSURE_PAUSE = (0.7, 0.9)
_SIL = VISEME_NAMES.index("sil")
_PP = VISEME_NAMES.index("PP")
_OPEN = [i for i in range(len(VISEME_NAMES)) if i not in (_SIL, _PP)]


def chunk_of_row(row_index: int) -> int:
    """The VAD chunk that holds the centre of lip-model row `row_index` (>= 0)."""
    return ((2 * row_index + 1) * HOP) // (2 * CHUNK)


def gate_silence(rows: np.ndarray, speech_prob: np.ndarray) -> np.ndarray:
    """rows: (n, 15) viseme rows over VISEME_NAMES (each sums to 1); speech_prob: (n,) P(speech) in [0, 1] of
    each row's chunk. Returns new (n, 15) float32 rows, each summing to 1: in speech the pause weight shrinks
    (to none from SPEECH_RAMP[1] up, where the row's pause weight is under UNSURE_PAUSE[0]; less as it nears
    UNSURE_PAUSE[1]) and the other visemes share what it leaves in their own proportions; in
    non-speech the open visemes' weight moves to the pause; PP keeps its weight. A row that is all pause in
    speech stays so: there is no other viseme to give its weight to."""
    rows = np.asarray(rows, np.float64)
    p = np.clip(np.asarray(speech_prob, np.float64), 0.0, 1.0)
    lo, hi = SPEECH_RAMP
    out = rows.copy()
    unsure = np.clip((UNSURE_PAUSE[1] - rows[:, _SIL]) / (UNSURE_PAUSE[1] - UNSURE_PAUSE[0]), 0.0, 1.0)
    out[:, _SIL] *= 1.0 - np.clip((p - lo) / (hi - lo), 0.0, 1.0) * unsure
    moved = np.clip(1.0 - p / NON_SPEECH_BELOW, 0.0, 1.0)[:, None] * out[:, _OPEN]
    out[:, _OPEN] -= moved
    out[:, _SIL] += moved.sum(1)
    total = out.sum(1, keepdims=True)
    empty = total[:, 0] < 1e-9
    out[empty] = rows[empty]
    total[empty] = 1.0
    return (out / total).astype(np.float32)


class VoiceActivity:
    """Streaming Silero VAD: push 16 kHz samples, get P(speech) of each 512-sample chunk they complete.

    `chunks_done` counts the chunks scored so far (chunk c covers samples [512 c, 512 (c + 1)) of the audio
    pushed). Any chunking of the pushes gives the same probabilities.
    """

    def __init__(self, model_path: str | Path = DEFAULT_MODEL_PATH):
        import onnxruntime as ort  # deferred, as in lips.py

        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(f"voice activity model {path} not found (it ships with facecast: "
                                    "runtime/engine/motion/models/silero_vad.onnx)")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1  # one 32 ms chunk is tiny
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
        self._sr = np.array(SAMPLE_RATE_HZ, np.int64)
        self.reset()

    def reset(self) -> None:
        """Start a new stream: no context, zero state."""
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._pending = np.zeros(0, np.float32)
        self.chunks_done = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """samples: (n,) float32 16 kHz mono in [-1, 1]. Returns (m,) float32 P(speech) of the m chunks these
        samples complete (chunks chunks_done - m .. chunks_done - 1 after the call)."""
        x = np.concatenate([self._pending, np.asarray(samples, np.float32).reshape(-1)])
        n = len(x) // CHUNK
        out = np.empty(n, np.float32)
        for i in range(n):
            chunk = x[i * CHUNK:(i + 1) * CHUNK]
            prob, self._state = self._session.run(
                None, {"input": np.concatenate([self._context, chunk])[None], "state": self._state, "sr": self._sr})
            out[i] = prob[0, 0]
            self._context = chunk[-CONTEXT:]
        self._pending = x[n * CHUNK:].copy()
        self.chunks_done += n
        return out
