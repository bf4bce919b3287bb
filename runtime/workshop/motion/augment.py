"""Augmentation for the lip model's training and its degraded dev set.

Waveforms (`augment`, at 16 kHz): reverb (exponentially decaying noise impulse response), telephone
band-limiting (300-3400 Hz), random level, additive white / pink / babble noise at 0-40 dB SNR.

Features (`augment_chunks`, on log-mel chunks while the model trains, `train_lips --mel-warp --mel-eq-db`):
the synthesized voices span few vocal tracts and one clean channel; people differ in both. Two perturbations,
drawn per chunk, act directly on the features (log-mel power, features.log_mel, 80 bands on 0-8 kHz):
- vocal-tract length: band k reads the spectrum at f_k / alpha, alpha ~ U(1 - warp, 1 + warp) (linear
  interpolation between bands; alpha > 1 moves formants up, as a shorter vocal tract does);
- microphone / room colouring: a smooth random gain curve over the bands (three cosines, peak |gain| up to
  eq_db decibels), added only where the band holds signal (above the digital-silence floor + 2), since a
  filter does not change digital silence.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, fftconvolve, sosfilt

from facecast.runtime.engine.motion.features import LOG_FLOOR, N_MELS, SAMPLE_RATE_HZ, mel_filterbank

DEV_REVERB_P = 0.3  # share of dev utterances with reverb (the degraded dev set is fixed: never change this)


def _pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1.0))
    return np.fft.irfft(spec, n)


def _reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    rt60_s = rng.uniform(0.1, 0.6)
    t = np.arange(int(rt60_s * SAMPLE_RATE_HZ)) / SAMPLE_RATE_HZ
    ir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s) * rng.uniform(0.05, 0.3)
    ir[0] = 1.0  # direct path first: reverb adds a tail, never a delay
    return fftconvolve(x, ir)[: len(x)]


def clean_level(clean: np.ndarray) -> np.ndarray:
    """Clean float32 speech scaled to -20 dBFS RMS: the level of the clean dev set and of clean copies."""
    return clean * np.float32(10 ** (-20 / 20) / (np.sqrt(np.mean(clean ** 2)) + 1e-12))


_TELEPHONE = butter(4, [300, 3400], btype="bandpass", fs=SAMPLE_RATE_HZ, output="sos")


def augment(x: np.ndarray, rng: np.random.Generator, babble_pool: list[np.ndarray],
            reverb_p: float = DEV_REVERB_P) -> np.ndarray:
    """16 kHz clean speech -> reverb? (probability reverb_p), telephone?, level, noise? (white/pink/babble at
    0-40 dB SNR), clip."""
    x = x.astype(np.float64)
    if rng.random() < reverb_p:
        x = _reverb(x, rng)
    if rng.random() < 0.15:
        x = sosfilt(_TELEPHONE, x)
    rms = np.sqrt(np.mean(x ** 2)) + 1e-12
    x *= 10 ** (rng.uniform(-40, -12) / 20) / rms  # speech RMS -40..-12 dBFS
    if rng.random() < 0.75:
        kind = rng.choice(["white", "pink", "babble"]) if babble_pool else rng.choice(["white", "pink"])
        if kind == "white":
            noise = rng.standard_normal(len(x))
        elif kind == "pink":
            noise = _pink(len(x), rng)
        else:
            noise = np.zeros(len(x))
            for _ in range(int(rng.integers(2, 5))):
                src = babble_pool[int(rng.integers(len(babble_pool)))]
                reps = np.tile(src, len(x) // max(len(src), 1) + 2)
                off = int(rng.integers(len(src)))
                noise += reps[off: off + len(x)]
        snr_db = rng.uniform(0, 40)
        x_rms = np.sqrt(np.mean(x ** 2)) + 1e-12
        noise *= x_rms / (np.sqrt(np.mean(noise ** 2)) + 1e-12) / 10 ** (snr_db / 20)
        x = x + noise
    return np.clip(x, -1.0, 1.0).astype(np.float32)


# --- features ---------------------------------------------------------------------------------------------
# Centre frequency of each mel band: the filterbank row's weighted mean frequency, (N_MELS,) Hz ascending.
_BANK = mel_filterbank()  # (257 FFT bins, N_MELS)
_FFT_HZ = np.linspace(0.0, 8000.0, _BANK.shape[0])
BAND_HZ = (_BANK * _FFT_HZ[:, None]).sum(0) / _BANK.sum(0)
_DB_TO_LN_POWER = np.log(10.0) / 10.0


def warp_weights(alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> (lo (N_MELS,) int, hi (N_MELS,) int, frac (N_MELS,) float32): band k of the warped spectrum is
    (1 - frac) * band lo + frac * band hi of the original, read at frequency BAND_HZ[k] / alpha (clamped to the
    first and last bands)."""
    pos = np.interp(BAND_HZ / alpha, BAND_HZ, np.arange(N_MELS, dtype=np.float64))
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, N_MELS - 1)
    return lo, hi, (pos - lo).astype(np.float32)


def eq_curve_ln(rng: np.random.Generator, eq_db: float) -> np.ndarray:
    """A smooth random gain over the bands, (N_MELS,) float32 in natural-log power units, peak |gain| <= eq_db."""
    k = np.arange(N_MELS) / (N_MELS - 1)
    curve = sum(rng.uniform(-1, 1) * np.cos(np.pi * j * k + rng.uniform(0, np.pi)) for j in (1, 2, 3))
    curve *= rng.uniform(0, eq_db) / (np.abs(curve).max() + 1e-9)
    return (curve * _DB_TO_LN_POWER).astype(np.float32)


def augment_chunks(x, rng: np.random.Generator, warp: float, eq_db: float, p: float = 0.8):
    """x: torch tensor (B, T, N_MELS) log-mel -> the same shape, each chunk perturbed with probability p
    (a vocal-tract warp with alpha in 1 +- warp, then an EQ curve of peak gain up to eq_db dB); the others
    unchanged."""
    import torch

    b = x.shape[0]
    lo = np.tile(np.arange(N_MELS), (b, 1))
    hi, frac = lo.copy(), np.zeros((b, N_MELS), np.float32)
    eq = np.zeros((b, N_MELS), np.float32)
    for i in range(b):
        if rng.random() < p:
            lo[i], hi[i], frac[i] = warp_weights(float(rng.uniform(1 - warp, 1 + warp)))
            eq[i] = eq_curve_ln(rng, eq_db)
    gather = lambda idx: torch.gather(x, 2, torch.from_numpy(idx)[:, None, :].expand(-1, x.shape[1], -1))
    f = torch.from_numpy(frac)[:, None, :]
    y = gather(lo) * (1 - f) + gather(hi) * f
    return y + torch.from_numpy(eq)[:, None, :] * (y > LOG_FLOOR + 2).to(y.dtype)
