"""Phone boundaries for a real recording, borrowed from a synthetic one of the same text by dynamic time warping.

`transfer_boundaries(real_audio, synth)` aligns a recording (16 kHz mono float32) with an espeak-ng rendering of
its text (`speechdata.PhoneTimedSpeech`) and returns, for every interior boundary of `synth.phones`, where that
boundary falls in the recording. Known correspondences (`anchors`: this synthetic time is that real time, e.g.
where speech starts) split the warp into independent pieces. This is how the real Mandarin syllables in
evaldata/mandarin_gcin got their timings (mandarin.py): no Mandarin forced aligner installs offline, but
espeak-ng speaks Mandarin.

Features: every 5 ms (the 10 ms `features.log_mel` frames at two offsets, interleaved), the log-mel bands above
~110 Hz (below that, rumble and hum in the recordings) floored 60 dB under the utterance's loudest band value,
so espeak's digital silence and a recording's quiet both read as the floor; then a DCT to 13 mel-cepstra (c0
included: loudness separates speech from silence) and their deltas, mean-normalised per utterance. Scaling
each coefficient to unit variance as well makes alignments worse on English (against pocketsphinx, median
37.5 ms and p90 385 ms instead of 20 and 72): it amplifies the noisy high coefficients and the deltas.
Warping: symmetric DTW (a diagonal step weighs its cell twice, so a path's cost does not depend on its shape),
both ends of each piece anchored.

Accuracy where the truth is known (real English with reference alignments): dtw_accuracy.py, figures in
evaldata/mandarin_gcin/README.md.
"""

from __future__ import annotations

import numpy as np

from facecast.runtime.engine.motion import features

from . import speechdata as sd

SAMPLE_RATE_HZ = features.SAMPLE_RATE_HZ
HOP_S = 0.005  # feature step: half the log-mel hop
# row j of mel_5ms is centred at j * HOP_S - CENTRE_LAG_S (log_mel frame t spans samples [160 t - 240, 160 t + 160))
CENTRE_LAG_S = 40 / SAMPLE_RATE_HZ
LOW_BANDS = 3  # mel bands 0-2 (< ~110 Hz) left out: rumble, hum, no articulation
FLOOR_DB = 60.0
N_CEPSTRA = 13
_DB = 10 / np.log(10)  # natural-log power -> dB


def to_16k(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """(N,) float32 at any rate -> float32 at 16 kHz (polyphase resampling)."""
    if sample_rate_hz == SAMPLE_RATE_HZ:
        return np.asarray(audio, np.float32)
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(sample_rate_hz), SAMPLE_RATE_HZ)
    return resample_poly(audio, SAMPLE_RATE_HZ // g, int(sample_rate_hz) // g).astype(np.float32)


def mel_5ms(audio: np.ndarray) -> np.ndarray:
    """(N,) float32 16 kHz -> (T, 80) natural-log mel power every 5 ms: row 2k is log_mel frame k, row 2k + 1
    the same framing 80 samples later; row j is centred at frame_time_s(j)."""
    half = features.HOP // 2
    a = features.log_mel(audio)
    b = features.log_mel(np.concatenate([audio[half:], np.zeros(half, np.float32)]))
    n = min(len(a), len(b))
    mel = np.empty((2 * n, features.N_MELS), np.float32)
    mel[0::2], mel[1::2] = a[:n], b[:n]
    return mel


def frame_time_s(index) -> np.ndarray:
    """Centre time of mel_5ms row(s) `index`."""
    return np.asarray(index, np.float64) * HOP_S - CENTRE_LAG_S


def band_level_db(mel: np.ndarray, low_band: int = LOW_BANDS, high_band: int | None = None) -> np.ndarray:
    """(T,) dB power summed over mel bands low_band..high_band-1 of a natural-log mel array."""
    return _DB * np.log(np.exp(mel[:, low_band:high_band].astype(np.float64)).sum(axis=1) + 1e-20)


def cepstra(mel: np.ndarray) -> np.ndarray:
    """(T, 80) natural-log mel -> (T, 26) float32: mel-cepstra c0..c12 of the bands from LOW_BANDS up, floored
    FLOOR_DB below their peak, and their deltas, minus the utterance mean."""
    from scipy.fft import dct

    mel = mel[:, LOW_BANDS:]
    if not len(mel):
        return np.zeros((0, 2 * N_CEPSTRA), np.float32)
    mel = np.maximum(mel, mel.max() - FLOOR_DB / _DB)
    cep = dct(mel, type=2, norm="ortho", axis=1)[:, :N_CEPSTRA]
    delta = np.gradient(cep, axis=0) if len(cep) > 1 else np.zeros_like(cep)
    out = np.concatenate([cep, delta], axis=1)
    return (out - out.mean(axis=0)).astype(np.float32)


def dtw_path(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-cost monotonic path through cost (n, m) from (0, 0) to (n-1, m-1), steps (1, 0), (0, 1), (1, 1),
    the diagonal counting its cell twice. Returns the (i, j) index arrays along the path. Each row is one numpy
    pass: within a row the horizontal steps are a running minimum over cumulative sums."""
    n, m = cost.shape
    if n == 0 or m == 0:
        raise ValueError(f"cannot align an empty sequence (cost matrix {cost.shape})")
    acc = np.empty((n, m), np.float64)
    move = np.zeros((n, m), np.int8)  # 0 diagonal, 1 from (i-1, j), 2 from (i, j-1)
    acc[0] = np.cumsum(cost[0], dtype=np.float64)
    move[0, 1:] = 2
    for i in range(1, n):
        c = cost[i].astype(np.float64)
        up = acc[i - 1] + c
        diag = np.full(m, np.inf)
        diag[1:] = acc[i - 1, :-1] + 2 * c[1:]
        entry = np.minimum(up, diag)  # best way into (i, j) from row i - 1
        # acc[i, j] = min over k <= j of entry[k] + c[k+1..j]: a running minimum of entry - cumsum(c)
        csum = np.cumsum(c)
        acc[i] = np.minimum.accumulate(entry - csum) + csum
        move[i] = np.where(acc[i] < entry - 1e-9, 2, np.where(diag <= up, 0, 1))
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        step = move[i, j]
        i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        path.append((i, j))
    ii, jj = np.array(path[::-1]).T
    return ii, jj


def map_times(path: tuple[np.ndarray, np.ndarray], times_s: list[float], first_src: int = 0,
              first_dst: int = 0) -> list[float]:
    """Times on the first sequence's axis -> the second's, through a DTW path over frames first_src.. and
    first_dst.. of the two mel_5ms arrays. A boundary at time t splits the first sequence's frames into those
    centred before t and the rest; its image lies midway between the last second-sequence frame paired with
    the former and the first paired with the latter."""
    src, dst = path[0] + first_src, path[1] + first_dst
    out = []
    for t in times_s:
        before, after = dst[frame_time_s(src) < t], dst[frame_time_s(src) >= t]
        if not len(before):
            out.append(float(frame_time_s(after.min()) - HOP_S / 2))
        elif not len(after):
            out.append(float(frame_time_s(before.max()) + HOP_S / 2))
        else:
            out.append(float((frame_time_s(before.max()) + frame_time_s(after.min())) / 2))
    return out


def _frames_within(start_s: float, end_s: float, n_frames: int) -> tuple[int, int]:
    """Row range [a, b) of a mel_5ms array whose centres lie in [start_s, end_s); at least one row."""
    a = int(np.ceil((start_s + CENTRE_LAG_S) / HOP_S - 1e-9))
    b = int(np.ceil((end_s + CENTRE_LAG_S) / HOP_S - 1e-9))
    a = min(max(a, 0), n_frames - 1)
    return a, min(max(b, a + 1), n_frames)


def transfer_boundaries(real_audio: np.ndarray, synth: sd.PhoneTimedSpeech, times_s: list[float] | None = None,
                        anchors: list[tuple[float, float]] | None = None) -> list[float]:
    """Where times on `synth`'s axis fall in `real_audio` (16 kHz mono float32 saying the same text).

    times_s: synthetic times to map; default every interior phone boundary (the end of each phone but the last).
    anchors: (synth_s, real_s) pairs known to correspond, increasing in both; the two files' starts and ends
      always are. Each stretch between anchors is warped on its own; a time equal to an anchor's maps to it.
    Returns one real time per input time, non-decreasing, within the recording."""
    if times_s is None:
        times_s = [end for _, end, _ in synth.phones[:-1]]
    real_dur_s = len(real_audio) / SAMPLE_RATE_HZ
    points = [(0.0, 0.0), *sorted(anchors or []), (synth.duration_s, real_dur_s)]
    if any(b[0] < a[0] or b[1] < a[1] for a, b in zip(points, points[1:])):
        raise ValueError(f"anchors must increase on both axes within the files: {points}")
    src_mel = mel_5ms(to_16k(synth.audio, synth.sample_rate_hz))
    dst_mel = mel_5ms(np.asarray(real_audio, np.float32))
    src_cep, dst_cep = cepstra(src_mel), cepstra(dst_mel)
    out = np.zeros(len(times_s))
    for (s0, r0), (s1, r1) in zip(points, points[1:]):
        inside = [k for k, t in enumerate(times_s) if s0 <= t <= s1]
        if not inside:
            continue
        a0, a1 = _frames_within(s0, s1, len(src_cep))
        b0, b1 = _frames_within(r0, r1, len(dst_cep))
        a, b = src_cep[a0:a1], dst_cep[b0:b1]
        path = dtw_path(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)))
        mapped = map_times(path, [times_s[k] for k in inside], a0, b0)
        for k, t_src, t_dst in zip(inside, (times_s[k] for k in inside), mapped):
            out[k] = r0 if t_src == s0 else r1 if t_src == s1 else min(max(t_dst, r0), r1)
    return [float(t) for t in np.maximum.accumulate(np.clip(out, 0.0, real_dur_s))]


def transfer_phones(real_audio: np.ndarray, synth: sd.PhoneTimedSpeech,
                    anchors: list[tuple[float, float]] | None = None) -> list[tuple[float, float, str]]:
    """synth's phone names with their boundaries moved onto real_audio: (start_s, end_s, name) tiling the
    recording; a phone squeezed to nothing is dropped."""
    bounds = [0.0, *transfer_boundaries(real_audio, synth, anchors=anchors), len(real_audio) / SAMPLE_RATE_HZ]
    return [(a, b, name) for a, b, (_, _, name) in zip(bounds, bounds[1:], synth.phones) if b > a]


def trim_edge_pauses(synth: sd.PhoneTimedSpeech, keep_s: float) -> sd.PhoneTimedSpeech:
    """The same speech with a leading and a trailing PAUSE cut to at most keep_s (espeak ends every clip with
    ~0.3 s of silence; a recording cut tight around a word has little)."""
    rate, phones = synth.sample_rate_hz, synth.phones
    a = round(max(0.0, phones[0][1] - keep_s) * rate) if phones[0][2] == sd.PAUSE else 0
    b = round(min(synth.duration_s, phones[-1][0] + keep_s) * rate) if phones[-1][2] == sd.PAUSE else None
    audio = synth.audio[a:b]
    cut_s, dur_s = a / rate, len(audio) / rate
    kept = [(max(0.0, s - cut_s), min(dur_s, e - cut_s), n) for s, e, n in phones]
    kept = [p for p in kept if p[1] > p[0]]
    kept[-1] = (kept[-1][0], dur_s, kept[-1][2])
    return sd.PhoneTimedSpeech(audio, rate, kept, synth.text, synth.voice, synth.rate_wpm, synth.pitch)
