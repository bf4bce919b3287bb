"""Streaming prosody from 16 kHz mono audio: level, voice activity, F0, accents and phrase boundaries.

`ProsodyTracker.push(chunk)` takes audio in any chunking and returns one `ProsodyFeatures` per completed
10 ms hop (100 Hz), the same whatever the chunking. Each hop looks at the last 40 ms of audio and nothing
after it; accent peaks are confirmed once the level has fallen again, so an accent is reported
`ACCENT_CONFIRM_DB` below its peak, typically 30-80 ms after it (`accent_lag_s` says how long).

- energy_db: RMS of the last 25 ms in dBFS (full-scale sine = -3 dB), floored at -100.
- speaking: energy above an adaptive noise floor with hysteresis: on after 30 ms above floor + 15 dB
  (and above -55 dBFS), off after 250 ms below floor + 9 dB, so stop closures and short gaps stay speech.
- f0_hz: YIN (de Cheveigné & Kawahara 2002) over 60-400 Hz on a 40 ms window; 0 when unvoiced or silent.
- accent_strength: 0..1 at the frame an energy peak (syllable nucleus) is confirmed, else 0: how far the
  peak stands above the speaker's running speech level, plus its pitch above the running F0 mean.
  `accent` is strength >= ACCENT_THRESHOLD.
- phrase_start / boundary: the frames where `speaking` turns on / off (a pause after speech).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE_HZ = 16_000
HOP_S = 0.010
ACCENT_THRESHOLD = 0.5
ACCENT_CONFIRM_DB = 3.0
_HOP = int(SAMPLE_RATE_HZ * HOP_S)
_RMS_WIN = int(SAMPLE_RATE_HZ * 0.025)
_F0_MIN_HZ, _F0_MAX_HZ = 60.0, 400.0
_TAU_MIN = int(SAMPLE_RATE_HZ / _F0_MAX_HZ)
_TAU_MAX = int(SAMPLE_RATE_HZ / _F0_MIN_HZ)
_YIN_WIN = 320  # 20 ms integration window; with _TAU_MAX the analysis spans ~37 ms
_HISTORY = _YIN_WIN + _TAU_MAX + 1
_YIN_THRESHOLD = 0.15
_VOICED_MAX_CMND = 0.35
_VAD_ON_DB, _VAD_OFF_DB, _VAD_ABS_MIN_DB = 15.0, 9.0, -55.0
_VAD_ON_HOPS, _VAD_OFF_HOPS = 3, 25
_FLOOR_MIN_DB = -90.0
_LOUDNESS_RANGE_DB = 24.0
_MIN_PEAK_GAP_HOPS = 12  # syllables are >= ~120 ms apart at normal rates
_FLOOR_RISE_DB_PER_S = 1.0  # the noise floor creeps up slowly so speech does not become the floor


@dataclass
class ProsodyFeatures:
    """Prosody of one 10 ms hop ending at t_s (seconds of audio pushed so far)."""

    t_s: float
    energy_db: float
    speaking: bool
    f0_hz: float = 0.0
    accent_strength: float = 0.0
    accent: bool = False
    phrase_start: bool = False
    boundary: bool = False
    loudness: float = 0.0  # 0..1 while speaking: 0.75 at the speaker's typical syllable peak, 1 at +6 dB


class ProsodyTracker:
    """Streaming prosody analysis; see the module docstring. Input 16 kHz mono float in [-1, 1]."""

    def __init__(self, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        if sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"ProsodyTracker takes {SAMPLE_RATE_HZ} Hz audio, got {sample_rate_hz}; resample first "
                             "(facecast.runtime.engine.audio.resample.StreamResampler)")
        self.sample_rate_hz = sample_rate_hz
        self._hist = np.zeros(_HISTORY, np.float64)
        self._pending = np.zeros(0, np.float64)
        self._n_hops = 0
        self.noise_floor_db = -70.0
        self.speaking = False
        self._above = 0
        self._below = 0
        self._speech_db: float | None = None  # running mean level of speech frames
        self._log_f0: float | None = None  # running mean log F0 of voiced speech
        self._last_peak_hop = -100
        self._env_db = -100.0  # smoothed level for peak picking
        self._peak_db = -np.inf
        self._peak_f0 = 0.0
        self._peak_age = 0
        self._rising = False
        self._trough_db = -100.0
        self._peak_mean_db: float | None = None  # running mean level of syllable peaks

    @property
    def accent_lag_s(self) -> float:
        """Typical delay between an energy peak and its report (a confirmation of ACCENT_CONFIRM_DB fall)."""
        return 0.05

    def push(self, chunk: np.ndarray) -> list[ProsodyFeatures]:
        x = np.nan_to_num(np.asarray(chunk, np.float64).reshape(-1))
        self._pending = np.concatenate([self._pending, np.clip(x, -1.0, 1.0)])
        out = []
        while len(self._pending) >= _HOP:
            hop, self._pending = self._pending[:_HOP], self._pending[_HOP:]
            self._hist = np.concatenate([self._hist[_HOP:], hop])
            self._n_hops += 1
            out.append(self._analyse())
        return out

    def _analyse(self) -> ProsodyFeatures:
        t_s = self._n_hops * HOP_S
        frame = self._hist[-_RMS_WIN:]
        energy_db = max(10.0 * np.log10(np.mean(frame * frame) + 1e-12) + 0.0, -100.0)
        f0 = self._yin() if energy_db > _VAD_ABS_MIN_DB else 0.0

        # noise floor: follows quiet frames down fast, rises slowly
        if energy_db < self.noise_floor_db:
            self.noise_floor_db += 0.3 * (energy_db - self.noise_floor_db)
        else:
            self.noise_floor_db += _FLOOR_RISE_DB_PER_S * HOP_S
        self.noise_floor_db = max(self.noise_floor_db, _FLOOR_MIN_DB)
        on_db = max(self.noise_floor_db + _VAD_ON_DB, _VAD_ABS_MIN_DB)
        off_db = max(self.noise_floor_db + _VAD_OFF_DB, _VAD_ABS_MIN_DB - (_VAD_ON_DB - _VAD_OFF_DB))
        self._above = self._above + 1 if energy_db > on_db else 0
        self._below = self._below + 1 if energy_db < off_db else 0
        phrase_start = boundary = False
        if not self.speaking and self._above >= _VAD_ON_HOPS:
            self.speaking, phrase_start = True, True
        elif self.speaking and self._below >= _VAD_OFF_HOPS:
            self.speaking, boundary = False, True

        if self.speaking and energy_db > on_db:
            self._speech_db = energy_db if self._speech_db is None else (
                self._speech_db + 0.01 * (energy_db - self._speech_db))  # ~1 s memory
        if f0 > 0 and self.speaking:
            self._log_f0 = np.log(f0) if self._log_f0 is None else self._log_f0 + 0.01 * (np.log(f0) - self._log_f0)
        strength = self._accent(energy_db, f0)
        ref_db = next((r for r in (self._peak_mean_db, self._speech_db) if r is not None), energy_db)
        loudness = float(np.clip((energy_db - ref_db + _LOUDNESS_RANGE_DB * 0.75) / _LOUDNESS_RANGE_DB, 0.0, 1.0))
        loudness = loudness if self.speaking else 0.0
        return ProsodyFeatures(t_s=t_s, energy_db=float(energy_db), speaking=self.speaking, f0_hz=float(f0),
                               accent_strength=strength, accent=strength >= ACCENT_THRESHOLD,
                               phrase_start=phrase_start, boundary=boundary, loudness=loudness)

    def _accent(self, energy_db: float, f0: float) -> float:
        """Peak picking on a smoothed level: a peak counts once the level falls ACCENT_CONFIRM_DB below it."""
        self._env_db += 0.4 * (energy_db - self._env_db)
        env = self._env_db
        self._peak_age += 1
        if env > self._peak_db:
            self._peak_db, self._peak_f0, self._peak_age = env, f0, 0
        if env < self._trough_db:
            self._trough_db = env
        if env > self._trough_db + ACCENT_CONFIRM_DB:
            self._rising = True
        if not (self._rising and env < self._peak_db - ACCENT_CONFIRM_DB):
            return 0.0
        peak_db, peak_f0 = self._peak_db, self._peak_f0
        self._rising, self._trough_db, self._peak_db = False, env, env
        if not self.speaking or peak_db < max(self.noise_floor_db + _VAD_ON_DB, _VAD_ABS_MIN_DB):
            return 0.0
        if self._n_hops - self._last_peak_hop < _MIN_PEAK_GAP_HOPS:  # a second crest of the same syllable
            return 0.0
        self._last_peak_hop = self._n_hops
        if self._peak_mean_db is None:
            self._peak_mean_db = peak_db
        prominence_db = peak_db - self._peak_mean_db
        self._peak_mean_db += 0.15 * (peak_db - self._peak_mean_db)
        pitch_st = 12.0 * np.log2(peak_f0 / np.exp(self._log_f0)) if peak_f0 > 0 and self._log_f0 else 0.0
        score = 0.25 + prominence_db / 8.0 + max(pitch_st - 1.0, 0.0) / 6.0
        return float(np.clip(score, 0.05, 1.0))

    def _yin(self) -> float:
        x = self._hist
        w = _YIN_WIN
        ref = x[:w]
        r = np.correlate(x[: w + _TAU_MAX], ref, mode="valid")  # r[tau] = sum ref[j] x[j + tau]
        sq = np.concatenate([[0.0], np.cumsum(x[: w + _TAU_MAX] ** 2)])
        e_tau = sq[w: w + _TAU_MAX + 1] - sq[: _TAU_MAX + 1]
        d = e_tau[0] + e_tau - 2.0 * r  # difference function d[tau], tau = 0.._TAU_MAX
        d[0] = 0.0
        cum = np.cumsum(d[1:])
        cmnd = np.ones_like(d)
        cmnd[1:] = d[1:] * np.arange(1, len(d)) / np.maximum(cum, 1e-12)
        cand = np.flatnonzero(cmnd[_TAU_MIN:_TAU_MAX] < _YIN_THRESHOLD)
        if len(cand):
            tau = _TAU_MIN + int(cand[0])
            while tau + 1 < _TAU_MAX and cmnd[tau + 1] < cmnd[tau]:
                tau += 1
            if tau == _TAU_MIN:  # dip at the edge of the range: not a period inside 60-400 Hz
                return 0.0
        else:
            tau = _TAU_MIN + int(np.argmin(cmnd[_TAU_MIN:_TAU_MAX]))
            if cmnd[tau] > _VOICED_MAX_CMND:
                return 0.0
        if 0 < tau < len(cmnd) - 1:  # parabolic interpolation of the dip
            a, b, c = cmnd[tau - 1], cmnd[tau], cmnd[tau + 1]
            den = a - 2 * b + c
            shift = 0.5 * (a - c) / den if abs(den) > 1e-12 else 0.0
            tau_f = tau + float(np.clip(shift, -1.0, 1.0))
        else:
            tau_f = float(tau)
        return SAMPLE_RATE_HZ / tau_f
