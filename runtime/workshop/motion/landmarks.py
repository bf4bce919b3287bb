"""Acoustic landmarks in a recording of one syllable: where speech starts and ends, where the vowel starts
after a voiceless consonant (voicing onset) or after m, n, l, r (release).

mandarin.py anchors its espeak-to-recording warp on these: on English, where pocketsphinx gives a reference,
the voicing onsets land closer to it than the warp's boundaries do, and the releases much closer at the tail
(dtw_accuracy.py prints both). All work on `dtw_align.mel_5ms` rows (5 ms, row j centred at
dtw_align.frame_time_s(j)); levels are dB of natural-log mel power summed over bands.
"""

from __future__ import annotations

import numpy as np

from facecast.runtime.engine.motion import features

from . import dtw_align

SAMPLE_RATE_HZ = dtw_align.SAMPLE_RATE_HZ
SPAN_MARGIN_DB = 6.0  # speech: at least this far above the quiet level ...
SPAN_RANGE_DB = 35.0  # ... and within this of the loudest frame
MIN_RUN_S = 0.02  # shorter loud blips (clicks) are not speech
VOICED_PERIODICITY = 0.5
VOICED_DROP_DB = 20.0
VOWEL_DROP_DB = 12.0
SONORANT_DROP_DB = 6.0
GUARD_S = 0.02  # search windows start this long after the consonant starts and end this long before speech ends


def _band_range(low_hz: float, high_hz: float) -> tuple[int, int]:
    """Mel band indices [a, b) whose centre frequency lies in [low_hz, high_hz)."""
    bank = features.mel_filterbank()
    centres_hz = np.linspace(0.0, SAMPLE_RATE_HZ / 2, bank.shape[0])[bank.argmax(axis=0)]
    inside = np.flatnonzero((centres_hz >= low_hz) & (centres_hz < high_hz))
    return int(inside[0]), int(inside[-1]) + 1


def quiet_level_db(audio: np.ndarray) -> float:
    """The recording's quiet level: 3rd percentile of its 5 ms frame levels above ~110 Hz (dB, log-mel scale).
    Most gcin files are cut tight, so a corpus median of this is the better noise estimate (mandarin.main)."""
    return float(np.percentile(dtw_align.band_level_db(dtw_align.mel_5ms(audio)), 3))


def energy_span(mel: np.ndarray, noise_db: float) -> tuple[float, float] | None:
    """(onset_s, offset_s) of the speech in a mel_5ms array: from the first to the last run of at least
    MIN_RUN_S whose level above ~110 Hz exceeds max(noise_db + SPAN_MARGIN_DB, peak - SPAN_RANGE_DB);
    None if there is no such run. The 25 ms analysis window makes an abrupt edge far above the noise read up
    to ~10 ms early (onset) or late (offset); a gradual one, as in speech, much less."""
    level = dtw_align.band_level_db(mel)
    loud = level > max(noise_db + SPAN_MARGIN_DB, level.max() - SPAN_RANGE_DB)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    runs = [(a, b) for a, b in zip(edges[0::2], edges[1::2]) if (b - a) * dtw_align.HOP_S >= MIN_RUN_S]
    if not runs:
        return None
    half, end_s = dtw_align.HOP_S / 2, float(dtw_align.frame_time_s(len(mel)) + dtw_align.CENTRE_LAG_S)
    onset_s = float(dtw_align.frame_time_s(runs[0][0]) - half)
    offset_s = float(dtw_align.frame_time_s(runs[-1][1] - 1) + half)
    return max(0.0, onset_s), min(end_s, offset_s)


def periodicity(audio: np.ndarray) -> np.ndarray:
    """(T,) voicing strength per mel_5ms row: the highest normalised autocorrelation of a 30 ms window centred on
    the row at a lag of 2.5-14 ms (F0 70-400 Hz), after a 100 Hz high-pass that removes the recordings'
    rumble. Near 1 in a vowel, ~0.2-0.4 in frication, aspiration and silence."""
    from scipy.signal import butter, sosfiltfilt

    hop, win = SAMPLE_RATE_HZ // 200, SAMPLE_RATE_HZ * 30 // 1000
    lo, hi = SAMPLE_RATE_HZ // 400, SAMPLE_RATE_HZ * 14 // 1000
    x = sosfiltfilt(butter(4, 100.0, "highpass", fs=SAMPLE_RATE_HZ, output="sos"), audio.astype(np.float64))
    n = len(dtw_align.mel_5ms(audio))
    # row j is centred at sample 80 j - 40 (dtw_align.frame_time_s)
    starts = np.arange(n) * hop - hop // 2 - win // 2
    padded = np.concatenate([np.zeros(win), x, np.zeros(win + hi)])
    frames = padded[starts[:, None] + win + np.arange(win + hi)[None, :]]
    head = frames[:, :win]
    size = 1 << int(np.ceil(np.log2(2 * (win + hi))))
    spec = np.fft.rfft(frames, size) * np.conj(np.fft.rfft(head, size))
    corr = np.fft.irfft(spec, size)[:, lo:hi]  # corr[:, L - lo] = sum_k head[k] frames[k + L]
    energy = np.concatenate([np.zeros((n, 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    lag_energy = energy[:, lo + win:hi + win] - energy[:, lo:hi]
    norm = np.sqrt((head ** 2).sum(axis=1, keepdims=True) * lag_energy) + 1e-12
    return np.clip((corr / norm).max(axis=1), 0.0, 1.0)


def voicing_onset(audio: np.ndarray, mel: np.ndarray, start_s: float, end_s: float) -> float | None:
    """Where the vowel starts after a voiceless initial: the start of the run of vowel-like frames in
    [start_s, end_s) that holds the peak of first-formant power (300-1500 Hz, where frication and aspiration put
    little); single-frame dips do not end a run. Vowel-like: that power within VOWEL_DROP_DB of the peak, or
    periodic (periodicity >= VOICED_PERIODICITY, catching a soft vowel onset) with the power within
    VOICED_DROP_DB. Periodicity alone fails on the creaky vowels of tone 3; taking the run at the peak rather
    than the first run skips the rumble (periodic-ish, some F1-band power) before some syllables.
    None if the window is empty."""
    a, b = _band_range(300.0, 1500.0)
    level = dtw_align.band_level_db(mel, a, b)
    times = dtw_align.frame_time_s(np.arange(len(mel)))
    inside = np.flatnonzero((times >= start_s) & (times < end_s))
    if not len(inside):
        return None
    level, periodic = level[inside], periodicity(audio)[inside] >= VOICED_PERIODICITY
    peak = int(level.argmax())
    vowel = (level >= level[peak] - VOWEL_DROP_DB) | (periodic & (level >= level[peak] - VOICED_DROP_DB))
    j = peak
    while j > 0 and (vowel[j - 1] or (j > 1 and vowel[j - 2])):
        j -= 1 if vowel[j - 1] else 2
    return float(times[inside[j]] - dtw_align.HOP_S / 2)


def sonorant_release(mel: np.ndarray, start_s: float, end_s: float, front: bool = False) -> float | None:
    """Where the vowel starts after m, n, l or r, in [start_s, end_s). A nasal or lateral murmur carries little
    power at the vowel's formants, so the release is a rise there: walking back from the peak of first-formant
    power (300-1500 Hz), the first 5 ms frame of the stretch that stays within SONORANT_DROP_DB of it (for the
    approximant r the rise is a ramp, and this finds its upper part). front: the final starts with i, ü or
    their glides, whose first formant is as low as a murmur's, and whose second is high: the release is then
    the steepest 10 ms rise of 1500-4000 Hz power before that band's peak (a later a or ɛ may be louder still,
    so not the stretch near the peak). None if the window is empty."""
    a, b = _band_range(1500.0, 4000.0) if front else _band_range(300.0, 1500.0)
    level = dtw_align.band_level_db(mel, a, b)
    times = dtw_align.frame_time_s(np.arange(len(mel)))
    inside = np.flatnonzero((times >= start_s) & (times < end_s))
    if len(inside) < 3:
        return None
    level = level[inside]
    peak = int(level.argmax())
    if front:
        if peak < 2:
            return float(times[inside[0]] - dtw_align.HOP_S / 2)
        rise = level[2:peak + 1] - level[:peak - 1]  # rise[k]: across the rows k .. k + 2
        j = int(rise.argmax()) + 1
    else:
        j = peak
        while j > 0 and level[j - 1] >= level[peak] - SONORANT_DROP_DB:
            j -= 1
    return float(times[inside[j]] - dtw_align.HOP_S / 2)
