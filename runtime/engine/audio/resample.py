"""Streaming resampling to the model rate, and downmixing to mono.

``StreamResampler`` is a polyphase FIR resampler that carries its input history from chunk to
chunk, so feeding a signal in any chunking gives the same samples as resampling it in one go
with ``scipy.signal.resample_poly`` (same Kaiser-windowed filter, same delay compensation):
no clicks at chunk edges. The price is a fixed look-ahead of ``half_len / up`` input samples
(about 0.6 ms for 44.1 or 48 kHz → 16 kHz), reported as ``lookahead_s``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import firwin

from .ring import MODEL_SAMPLE_RATE_HZ

# Above this the reduced ratio needs an impractically long filter (44 099 Hz → 16 kHz would
# need 880 000 taps); real devices and files use rates well inside it.
MAX_RATIO_TERM = 2_000


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(n,) or (n, channels) samples → (n,) float32 mono, the mean of the channels.

    The mean (not the sum) keeps full-scale stereo within [-1, 1].
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        return x
    if x.ndim != 2:
        raise ValueError(f"samples must be (n,) or (n, channels), got shape {x.shape}")
    if x.shape[1] == 1:
        return x[:, 0]
    return x.mean(axis=1, dtype=np.float32)


class StreamResampler:
    """Resample a mono stream from ``in_rate_hz`` to ``out_rate_hz``, chunk by chunk.

    ``process(chunk)`` returns every output sample computable from the input so far;
    ``flush()`` ends the stream and returns the tail (zero-padded, as resample_poly does).
    Concatenated, they equal ``resample_poly(x, up, down)`` to float32 precision.
    """

    def __init__(self, in_rate_hz: int, out_rate_hz: int = MODEL_SAMPLE_RATE_HZ):
        in_rate_hz, out_rate_hz = int(in_rate_hz), int(out_rate_hz)
        if in_rate_hz <= 0 or out_rate_hz <= 0:
            raise ValueError(f"rates must be positive, got {in_rate_hz} Hz → {out_rate_hz} Hz")
        g = math.gcd(in_rate_hz, out_rate_hz)
        self.up, self.down = out_rate_hz // g, in_rate_hz // g
        if max(self.up, self.down) > MAX_RATIO_TERM:
            raise ValueError(
                f"cannot resample {in_rate_hz} Hz → {out_rate_hz} Hz: the ratio {self.up}/{self.down} "
                f"needs too long a filter; use a standard rate (8, 11.025, 16, 22.05, 32, 44.1, 48, 96 kHz…)"
            )
        self.in_rate_hz, self.out_rate_hz = in_rate_hz, out_rate_hz
        self._n_in = 0  # input samples consumed so far
        self._n_out = 0  # output samples emitted so far
        self._flushed = False
        if self.up == self.down == 1:
            self._taps = np.ones((1, 1))
            self._pre_remove = 0
            self._hist = np.zeros(0)
            self.lookahead_s = 0.0
            return
        # Same filter and alignment as scipy.signal.resample_poly's default.
        max_rate = max(self.up, self.down)
        half_len = 10 * max_rate
        h = firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)) * self.up
        n_pre_pad = self.down - half_len % self.down
        h = np.concatenate([np.zeros(n_pre_pad), h])
        self._pre_remove = (half_len + n_pre_pad) // self.down
        # Polyphase split: taps[phase, k] = h[phase + k*up], so output m (upsampled position
        # q = (m + pre_remove) * down, phase = q % up, i0 = q // up) is sum_k taps[phase, k] * x[i0 - k].
        n_taps = -(-len(h) // self.up)
        padded = np.zeros(n_taps * self.up)
        padded[: len(h)] = h
        self._taps = padded.reshape(n_taps, self.up).T.copy()  # (up, n_taps)
        # History holds the last n_taps-1 inputs (zeros before the stream began).
        self._hist = np.zeros(n_taps - 1)
        self.lookahead_s = half_len / self.up / in_rate_hz

    @property
    def passthrough(self) -> bool:
        return self.up == self.down == 1

    def _emit(self, n_avail_in: int) -> np.ndarray:
        """Outputs m >= self._n_out whose newest needed input index i0 < n_avail_in."""
        up, down, pre = self.up, self.down, self._pre_remove
        # i0(m) = ((m + pre) * down) // up < n_avail_in  ⇔  m < ceil(n_avail_in*up/down) - pre
        # (largest m with (m+pre)*down <= n_avail_in*up - 1).
        m_stop = (n_avail_in * up - 1) // down - pre + 1 if n_avail_in > 0 else 0
        m = np.arange(self._n_out, max(self._n_out, m_stop), dtype=np.int64)
        if len(m) == 0:
            return np.zeros(0, dtype=np.float32)
        q = (m + pre) * down
        phase, i0 = q % up, q // up
        n_taps = self._taps.shape[1]
        # self._hist[j] is input index (self._hist_base + j); gather x[i0 - k] for k < n_taps.
        rel = (i0 - self._hist_base)[:, None] - np.arange(n_taps)[None, :]
        y = np.einsum("ij,ij->i", self._taps[phase], self._hist[rel])
        self._n_out += len(m)
        return y.astype(np.float32)

    def process(self, chunk: np.ndarray) -> np.ndarray:
        """Feed (n,) mono input; return the (k,) float32 outputs now complete (k ≈ n·up/down)."""
        if self._flushed:
            raise RuntimeError("StreamResampler.process() after flush(); make a new one per stream")
        x = np.asarray(chunk, dtype=np.float64).reshape(-1)
        if self.passthrough:
            self._n_in += len(x)
            self._n_out += len(x)
            return x.astype(np.float32)
        n_keep = self._taps.shape[1] - 1
        # Working buffer: previous history (n_taps-1 inputs ending at _n_in) + the new chunk.
        self._hist = np.concatenate([self._hist, x])
        self._hist_base = self._n_in - n_keep
        self._n_in += len(x)
        y = self._emit(self._n_in)
        self._hist = self._hist[len(self._hist) - n_keep :]
        return y

    def flush(self) -> np.ndarray:
        """End of stream: the remaining outputs, computed with zeros after the last input."""
        if self._flushed or self.passthrough:
            self._flushed = True
            return np.zeros(0, dtype=np.float32)
        self._flushed = True
        n_total_out = -(-self._n_in * self.up // self.down)
        n_keep = self._taps.shape[1] - 1
        # Enough trailing zeros that every remaining output's inputs are "available".
        n_pad = (self._pre_remove * self.down) // self.up + 2
        self._hist = np.concatenate([self._hist, np.zeros(n_pad)])
        self._hist_base = self._n_in - n_keep
        y = self._emit(self._n_in + n_pad)
        keep = max(0, n_total_out - (self._n_out - len(y)))
        return y[:keep]

    def __repr__(self) -> str:
        return f"StreamResampler({self.in_rate_hz} Hz → {self.out_rate_hz} Hz, up {self.up}/down {self.down})"
