"""Audio -> Oculus viseme probabilities, streaming: the trained ONNX `LipModel` and the `EnergyLips` baseline;
`LoudnessOpen`, the relative loudness the baseline opens the jaw by and the mouth adds to the jaw (mouth.py).

Both take log-mel frames from `features.MelStream` (80 bands, 100 Hz) and return one (15,) row per input
frame over `VISEME_NAMES`, summing to 1. A model with `lookahead_frames = L` emits, for the input frame
with stream index n, the viseme row of frame n - L: it has heard 10 L ms past the frame it describes.
The engine stamps row i of a `step` with t_audio of frame (frames_in - L + i); rows for negative frame
indices (the first L of a stream) describe the silence before the stream. `infer(mel)` does the
bookkeeping for a whole clip and returns rows aligned with the input frames.

`LipModel` runs `models/lips.onnx` (see models/LIPS_MODEL_CARD.md) with onnxruntime. Its graph carries its
own streaming state as explicit inputs/outputs (a conv history of the last K-1 mel frames and the GRU
hidden state), so feeding a clip in any chunking gives the same rows as feeding it at once (to float32
rounding, ~1e-7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facecast.bridge.schema import VISEME_NAMES

from .features import LOG_FLOOR, N_MELS

DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "lips.onnx"
N_VISEMES = len(VISEME_NAMES)
_SIL = VISEME_NAMES.index("sil")
_AA = VISEME_NAMES.index("aa")


def _check_mel(mel: np.ndarray) -> np.ndarray:
    m = np.asarray(mel, np.float32)
    if m.ndim != 2 or m.shape[1] != N_MELS:
        raise ValueError(f"mel must be (T, {N_MELS}) float32 log-mel from features.MelStream, got shape {m.shape}")
    return m


class LipModel:
    """The trained lip-sync network (ONNX), stateful across `step` calls.

    model_path: the .onnx file (default: the shipped models/lips.onnx).
    device: "auto" (CUDA execution provider when onnxruntime has it, else CPU), "cpu" or "cuda"
      ("cuda" raises RuntimeError when onnxruntime has no CUDA provider).
    voice_gate: ask the stream that runs this model (stream.MotionStream) to gate its rows with voice
      activity (voice_activity.py): better on real voices, worse with other voices in the pauses.
    """

    def __init__(self, model_path: str | Path = DEFAULT_MODEL_PATH, device: str = "auto", threads: int = 1,
                 voice_gate: bool = False):
        import onnxruntime as ort  # deferred: importing this module must not need onnxruntime

        available = ort.get_available_providers()
        if device not in ("auto", "cpu", "cuda"):
            raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and "CUDAExecutionProvider" not in available:
            raise RuntimeError(
                f"device='cuda' but onnxruntime has no CUDAExecutionProvider (has {available}); install "
                "onnxruntime-gpu with a matching CUDA runtime, or use device='cpu' / 'auto'"
            )
        use_cuda = device == "cuda" or (device == "auto" and "CUDAExecutionProvider" in available)
        providers = (["CUDAExecutionProvider"] if use_cuda else []) + ["CPUExecutionProvider"]
        path = Path(model_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"lip model {path} not found; rebuild it with "
                "`python -m facecast.runtime.workshop.motion.train_lips --out runtime/engine/motion/models/lips.onnx`"
            )
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads  # one frame is tiny: more threads cost more than they save
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
        self.voice_gate = bool(voice_gate)
        self.providers = self._session.get_providers()
        meta = self._session.get_modelmeta().custom_metadata_map
        self.lookahead_frames = int(meta.get("lookahead_frames", 0))
        inputs = {i.name: i.shape for i in self._session.get_inputs()}
        self._conv_len = int(inputs["conv_state"][1])
        self._h_shape = tuple(int(d) for d in inputs["h"])
        self.reset()

    def reset(self) -> None:
        """Start a new stream: conv history = digital silence, GRU state = 0."""
        self._conv = np.full((1, self._conv_len, N_MELS), LOG_FLOOR, np.float32)
        self._h = np.zeros(self._h_shape, np.float32)
        self.frames_in = 0

    def step(self, mel: np.ndarray) -> np.ndarray:
        """mel: (T, 80) float32 log-mel at 100 Hz -> (T, 15) float32 viseme probabilities, rows summing to 1.

        Row i belongs to stream frame (frames_in_before + i - lookahead_frames); see the module docstring.
        """
        m = _check_mel(mel)
        if len(m) == 0:
            return np.zeros((0, N_VISEMES), np.float32)
        probs, self._conv, self._h = self._session.run(
            None, {"mel": m[None], "conv_state": self._conv, "h": self._h})
        self.frames_in += len(m)
        return probs[0]

    def infer(self, mel: np.ndarray) -> np.ndarray:
        """Whole clip, from a fresh state: (T, 80) -> (T, 15) with row t describing input frame t.

        Feeds `lookahead_frames` frames of digital silence after the clip to flush the last rows.
        """
        return _infer_aligned(self, mel)


class LoudnessOpen:
    """How loud each log-mel frame is relative to the speaker's recent peak, streaming: (T, 80) -> (T,) in 0..1.

    open = clip((level_db - (peak_db - range_db)) / ramp_db, 0, 1), level_db = 10 log10 of the frame's
    mel-band power; peak_db follows the loudest recent frame, falling `decay_db` per frame (2 dB/s by default),
    so the measure adapts to a quiet microphone within seconds and no fixed input level is assumed.
    """

    def __init__(self, range_db: float = 30.0, ramp_db: float = 15.0, decay_db: float = 0.02):
        self.range_db, self.ramp_db, self.decay_db = range_db, ramp_db, decay_db
        self.reset()

    def reset(self) -> None:
        # 0 dB here is speech near -40 dBFS RMS: quieter sound before the first loud frame reads as closed
        self._peak_db = 0.0

    def step(self, mel: np.ndarray) -> np.ndarray:
        """mel: (T, 80) float32 log-mel -> (T,) float32 relative loudness in 0..1."""
        m = _check_mel(mel)
        # log-sum-exp of natural-log powers, in dB
        top = m.max(axis=1, keepdims=True)
        level_db = (10.0 / np.log(10.0)) * (top[:, 0] + np.log(np.exp(m - top).sum(axis=1)))
        out = np.zeros(len(m), np.float32)
        peak = self._peak_db
        for i, lv in enumerate(level_db):
            peak = max(float(lv), peak - self.decay_db)
            out[i] = min(1.0, max(0.0, (lv - (peak - self.range_db)) / self.ramp_db))
        self._peak_db = peak
        return out


class EnergyLips:
    """Baseline: loudness -> jaw. Each frame's LoudnessOpen sets P(aa) (mouth open); the rest is P(sil).
    No lookahead. Same interface as LipModel; keyword arguments go to LoudnessOpen."""

    lookahead_frames = 0

    def __init__(self, range_db: float = 30.0, ramp_db: float = 15.0, decay_db: float = 0.02):
        self._loudness = LoudnessOpen(range_db, ramp_db, decay_db)
        self.reset()

    def reset(self) -> None:
        self._loudness.reset()
        self.frames_in = 0

    def step(self, mel: np.ndarray) -> np.ndarray:
        """mel: (T, 80) float32 log-mel -> (T, 15) float32, only 'sil' and 'aa' non-zero, rows summing to 1."""
        opened = self._loudness.step(mel)
        out = np.zeros((len(opened), N_VISEMES), np.float32)
        out[:, _AA] = opened
        out[:, _SIL] = 1.0 - opened
        self.frames_in += len(opened)
        return out

    def infer(self, mel: np.ndarray) -> np.ndarray:
        """Whole clip from a fresh state: (T, 80) -> (T, 15), row t for input frame t."""
        return _infer_aligned(self, mel)


def _infer_aligned(model, mel: np.ndarray) -> np.ndarray:
    m = _check_mel(mel)
    lookahead = model.lookahead_frames
    model.reset()
    tail = np.full((lookahead, N_MELS), LOG_FLOOR, np.float32)
    out = model.step(np.concatenate([m, tail]))
    model.reset()
    return out[lookahead:]
