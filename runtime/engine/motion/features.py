"""Streaming log-mel features for the lip model: 16 kHz mono float32 in, 80 log-mel bands at 100 Hz out.

Framing: 25 ms Hann window (400 samples, zero-padded to a 512-point FFT), 10 ms hop (160 samples). Frame t
covers samples [160 t - 240, 160 t + 160): it *ends* at the end of the 10 ms label interval
[t / 100, (t + 1) / 100) that `speechdata.viseme_track` row t describes, so frame t is available as soon as
sample 160 (t + 1) has arrived and never looks past its own label interval. Samples before the stream
start count as zeros. N samples give N // 160 frames.

Values: natural log of mel-band power, power = |rfft(window * x)|^2 for x in [-1, 1], floored at
`LOG_FLOOR_POWER` (so digital silence reads exactly `LOG_FLOOR` = ln(1e-10) ~ -23.0; a full-scale sine peaks
near +9 in its band). Mel filterbank: Slaney mel scale (linear below 1 kHz, log above), 0-8000 Hz,
area-normalised triangles (librosa's `mel(sr=16000, n_fft=512, n_mels=80)` defaults), precomputed once
with numpy. No torchaudio/librosa at run time.

Cost: one 512-point rfft and a (257 x 80) matmul per frame, ~20-40 us per 10 ms on one core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16_000
N_MELS = 80
FRAME_RATE_HZ = 100
HOP = 160  # samples per 10 ms
WIN = 400  # samples per 25 ms
N_FFT = 512
LOG_FLOOR_POWER = 1e-10
LOG_FLOOR = float(np.log(LOG_FLOOR_POWER))
_HISTORY = WIN - HOP  # samples of the previous frames each new frame reuses


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney mel scale: 3 mels per 200 Hz below 1 kHz, logarithmic (27 mels per factor 6.4) above."""
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-9) / 1000.0) / log_step, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * (200.0 / 3))


def mel_filterbank(sample_rate_hz: int = SAMPLE_RATE_HZ, n_fft: int = N_FFT, n_mels: int = N_MELS,
                   fmin_hz: float = 0.0, fmax_hz: float | None = None) -> np.ndarray:
    """(n_fft // 2 + 1, n_mels) float32 triangular filters, each with unit area in Hz (Slaney normalisation)."""
    fmax_hz = sample_rate_hz / 2 if fmax_hz is None else fmax_hz
    fft_hz = np.linspace(0.0, sample_rate_hz / 2, n_fft // 2 + 1)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(fmin_hz), _hz_to_mel(fmax_hz), n_mels + 2))
    lower, centre, upper = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rise = (fft_hz[None, :] - lower) / (centre - lower)
    fall = (upper - fft_hz[None, :]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rise, fall)) * (2.0 / (upper - lower))
    return weights.T.astype(np.float32)


_FILTERBANK = mel_filterbank()
_WINDOW = np.hanning(WIN + 1)[:-1].astype(np.float32)  # periodic Hann


def _frames_to_logmel(frames: np.ndarray) -> np.ndarray:
    """(n, 400) windowless sample frames -> (n, 80) float32 log-mel."""
    spec = np.fft.rfft(frames * _WINDOW, n=N_FFT, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return np.log(np.maximum(power @ _FILTERBANK, LOG_FLOOR_POWER)).astype(np.float32)


def log_mel(audio: np.ndarray) -> np.ndarray:
    """One-shot features: (N,) float32 16 kHz mono in [-1, 1] -> (N // 160, 80) float32 log-mel (see module doc)."""
    x = np.asarray(audio, np.float32)
    if x.ndim != 1:
        raise ValueError(f"audio must be (N,) mono 16 kHz, got shape {x.shape}; downmix with audio.resample.to_mono")
    n_frames = len(x) // HOP
    if n_frames == 0:
        return np.zeros((0, N_MELS), np.float32)
    padded = np.concatenate([np.zeros(_HISTORY, np.float32), x[: n_frames * HOP]])
    idx = np.arange(n_frames)[:, None] * HOP + np.arange(WIN)[None, :]
    return _frames_to_logmel(padded[idx])


@dataclass(frozen=True)
class MelChunk:
    """Frames a `MelStream.push` completed: mel (n, 80) float32 for stream frames start_frame .. start_frame + n - 1."""

    start_frame: int
    mel: np.ndarray

    @property
    def frame_indices(self) -> np.ndarray:
        """(n,) int64 stream frame index of each row of `mel`; frame t ends at t_audio = (t + 1) / 100 s."""
        return np.arange(self.start_frame, self.start_frame + len(self.mel))


class MelStream:
    """Incremental `log_mel`: push 16 kHz mono float32 chunks of any size, get every completed frame.

    The concatenation of all pushed chunks' `mel` equals `log_mel` of the concatenated audio: same samples,
    same operations; only BLAS blocking over a different number of rows can move the last float32 bit
    (measured <= 5e-7). Keeps at most 400 samples between calls.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Start a new stream at frame 0 (history cleared to zeros)."""
        self._buf = np.zeros(_HISTORY, np.float32)  # the last 240 samples, then the samples of the partial frame
        self._next_frame = 0

    @property
    def frames_emitted(self) -> int:
        return self._next_frame

    def push(self, samples: np.ndarray) -> MelChunk:
        """samples: (n,) float32 16 kHz mono -> the frames this chunk completes (possibly none)."""
        x = np.asarray(samples, np.float32)
        if x.ndim != 1:
            raise ValueError(f"samples must be (n,) mono 16 kHz, got shape {x.shape}")
        buf = np.concatenate([self._buf, x]) if len(x) else self._buf
        n_frames = (len(buf) - _HISTORY) // HOP
        start = self._next_frame
        if n_frames <= 0:
            self._buf = buf
            return MelChunk(start, np.zeros((0, N_MELS), np.float32))
        idx = np.arange(n_frames)[:, None] * HOP + np.arange(WIN)[None, :]
        mel = _frames_to_logmel(buf[idx])
        self._buf = buf[n_frames * HOP:].copy()
        self._next_frame += n_frames
        return MelChunk(start, mel)
