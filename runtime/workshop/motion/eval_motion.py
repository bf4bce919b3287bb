"""Lip-sync quality of the *blendshapes*: `evaluate_motion(lips, utterances) -> dict`, judged on phone timings.

eval_lips judges the lip model's viseme probabilities; this module judges what a viewer sees. Each held-out
dev utterance (the same espeak-ng sentences, voices and augmentation as train_lips.dev_utterances, rebuilt
by `motion_utterances` so the 16 kHz audio and the phone intervals are kept) goes through
`stream.bake(audio, lips, MotionEngine())` — a fresh engine and a reset lip model per utterance, the code
the live path runs — and is scored on the lip aperture a(t) = jawOpen - mouthClose at 60 Hz. Motion frame i
is stamped t = i/60 and shows the audio ((i-1)/60, i/60].

Metrics (thresholds fixed here, not tuned per model):
- pbm_closed: over every occurrence of a bilabial stop or nasal (a phone whose name holds p, b or m and
  maps to viseme PP; the PP part of an affricate such as German "pf"; Spanish approximant β/ɸ excluded:
  the lips need not touch), the fraction whose aperture drops below CLOSED_APERTURE = 0.05 at some frame
  with t in [start, end + 1/60] (one frame of grid allowance). Target >= 0.90.
- silence_closed: over frames inside pauses (viseme sil) longer than MIN_PAUSE_S = 0.15 s, leaving out
  EDGE_S = 0.06 s at each end for coarticulation, the fraction with aperture < 0.05. Target >= 0.98.
- open_vowels_open: "open vowels" are phones mapping to visemes aa, E or oh (ih and ou are close/rounded
  vowels whose pose opens the jaw only 0.14-0.18 and are left out). Fraction of occurrences whose max
  aperture over frames with t in [start, end + 1/60] exceeds OPEN_APERTURE = 0.15. Target >= 0.95.
- openness_r: Pearson r at lag 0 between the aperture and the RAW phone openness curve: eval_lips.MOUTH_OPEN
  per viseme applied to speechdata.viseme_track at 60 Hz (row i-1 for frame i), a step at every phone
  boundary, i.e. truth as the phone boundaries state it. Target >= 0.80.
- lag_ms: the lag in [-100, +100] ms maximising the summed cross-correlation of aperture vs that raw curve,
  parabolic sub-frame interpolation; POSITIVE = the mouth moves AFTER the phones (late). It includes every
  delay the viewer sees (the jaw's own smoothing too). Target: -40 ms <= lag <= 0 (real lips start moving
  before the sound; a mouth after it reads as late). best_r: r at the best whole-frame lag.
- openness_r_smoothed, lag_ms_smoothed: the same against the raw curve smoothed causally with the jaw's
  default attack/release time constants (what a lagging ideal jaw would do); secondary figures only, since
  they take the jaw's delay out of the measure.
Also n_utterances, n_pbm, n_open_vowels, n_silence_frames, n_frames.

`compare(utterances)` returns {"LipModel": ..., "EnergyLips": ...}; `compare_all(n)` runs it on the clean and
augmented dev sets and on real recorded English speech (realspeech.real_utterances: the held-out recordings
with forced-aligned phones): `python -m facecast.runtime.workshop.motion.eval_motion --n 60`.
"""

from __future__ import annotations

import argparse

import numpy as np

from facecast.bridge.schema import VISEME_NAMES
from facecast.runtime.engine.motion.engine import MotionEngine
from facecast.runtime.engine.motion.filters import AsymmetricSmoother
from facecast.runtime.engine.motion.stream import bake

from . import speechdata as sd
from .eval_lips import MOUTH_OPEN
from .utterance import MotionUtterance

MOTION_HZ = 60.0
CLOSED_APERTURE = 0.05
OPEN_APERTURE = 0.15
MIN_PAUSE_S = 0.15
EDGE_S = 0.06
MAX_LAG_MS = 100.0
OPEN_VOWEL_VISEMES = ("aa", "E", "oh")
TARGETS = {"pbm_closed": 0.95, "silence_closed": 0.98, "open_vowels_open": 0.95, "openness_r": 0.80,
           "lag_ms_min": -40.0, "lag_ms_max": 0.0}
# The jaw time constants the secondary (smoothed) reference uses: the mouth model's defaults before the mouth
# learned to anticipate, kept fixed here so the secondary figure stays comparable across mouth changes.
SMOOTHED_REF_ATTACK_S, SMOOTHED_REF_RELEASE_S = 0.035, 0.020

_V = {n: i for i, n in enumerate(VISEME_NAMES)}
_OPEN = np.array([MOUTH_OPEN[n] for n in VISEME_NAMES])


def motion_utterances(n: int = 120, augmented: bool = True, seed: int = 7) -> list[MotionUtterance]:
    """The dev set of train_lips.dev_utterances (same RNG draws, same order), keeping audio and phones."""
    from scipy.signal import resample_poly

    from . import train_lips as tl
    from .augment import augment, clean_level

    rng = np.random.default_rng(seed + (0 if augmented else 1000))
    babble: list[np.ndarray] = []
    out: list[MotionUtterance] = []
    for i in range(n):  # mirrors train_lips.make_utterances("dev", ...) draw for draw
        lang = tl.DEV_LANGS[i % len(tl.DEV_LANGS)]
        variant = tl.DEV_VARIANTS[int(rng.integers(len(tl.DEV_VARIANTS)))]
        voice = lang + (f"+{variant}" if variant else "")
        text = tl.make_sentence(rng, tl.split_words(lang, "dev"))
        speech = sd.synthesize(text, voice, rate_wpm=int(rng.integers(120, 261)), pitch=int(rng.integers(20, 81)),
                               pitch_range=int(rng.integers(20, 91)), pad_s=float(rng.uniform(0.05, 0.6)))
        sr = tl.SAMPLE_RATE_HZ
        clean = resample_poly(speech.audio.astype(np.float64), sr // 50, speech.sample_rate_hz // 50).astype(np.float32)
        if augmented:
            audio = augment(clean, rng, babble)
        else:
            audio = clean_level(clean)
        babble.append(clean)
        babble = babble[-30:]
        out.append(MotionUtterance(audio.astype(np.float32), speech))
    return out


def aperture_track(lips, audio_16k: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Bake one clip as the live path does (fresh engine, reset lips) -> (t_s (F,), aperture (F,))."""
    lips.reset()
    frames = bake(audio_16k, lips, MotionEngine(rate_hz=MOTION_HZ, seed=seed))
    t = np.array([f.t_audio_s for f in frames])
    a = np.array([f.lip_aperture() for f in frames])
    return t, a


def _phone_parts(phones) -> list[tuple[float, float, str, str]]:
    """(start_s, end_s, viseme, phone name) per viseme part (multi-viseme phones split evenly, like sd)."""
    out = []
    for start_s, end_s, name in phones:
        visemes = sd.phone_visemes(name, strict=False)
        step_s = (end_s - start_s) / len(visemes)
        for i, vis in enumerate(visemes):
            out.append((start_s + i * step_s, start_s + (i + 1) * step_s, vis, name))
    return out


def _pauses(parts) -> list[tuple[float, float]]:
    """Maximal runs of sil parts as (start_s, end_s)."""
    runs: list[list[float]] = []
    for start_s, end_s, vis, _ in parts:
        if vis != "sil":
            continue
        if runs and abs(runs[-1][1] - start_s) < 1e-6:
            runs[-1][1] = end_s
        else:
            runs.append([start_s, end_s])
    return [(a, b) for a, b in runs]


def reference_openness(speech: sd.PhoneTimedSpeech, n_frames: int, smooth: bool = True) -> np.ndarray:
    """Phone-derived openness for motion frames 1..n_frames (row i-1 of the 60 Hz viseme track)."""
    track = sd.viseme_track(speech, frame_rate_hz=MOTION_HZ, strict=False) @ _OPEN
    track = np.concatenate([track, np.zeros(max(0, n_frames - len(track)))])[:n_frames]
    if not smooth:
        return track
    sm = AsymmetricSmoother(1, SMOOTHED_REF_ATTACK_S, SMOOTHED_REF_RELEASE_S)
    return np.array([sm.step(np.array([v]), 1.0 / MOTION_HZ)[0] for v in track])


def _xcorr(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(lags in frames, summed mean-removed cross-correlation sum_t a[t + lag] * ref[t]) over utterances."""
    max_lag = int(round(MAX_LAG_MS / 1000 * MOTION_HZ))
    lags = np.arange(-max_lag, max_lag + 1)
    xc = np.zeros(len(lags))
    for a, r in pairs:
        a, r = a - a.mean(), r - r.mean()
        for i, lag in enumerate(lags):
            xc[i] += float(a[lag:] @ r[: len(r) - lag]) if lag >= 0 else float(a[: len(a) + lag] @ r[-lag:])
    return lags, xc


def _best_lag_ms(pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Lag maximising sum_t a[t + lag] * ref[t] over utterances (mean-removed); positive = a after ref."""
    lags, xc = _xcorr(pairs)
    k = int(np.argmax(xc))
    frac = 0.0
    if 0 < k < len(xc) - 1:
        lo, mid, hi = xc[k - 1], xc[k], xc[k + 1]
        denom = lo - 2 * mid + hi
        frac = 0.5 * (lo - hi) / denom if denom != 0 else 0.0
    return float((lags[k] + frac) * 1000.0 / MOTION_HZ)


def _r_at_lag(pairs: list[tuple[np.ndarray, np.ndarray]], lag: int) -> float:
    """Pearson r of the concatenated aperture shifted by `lag` frames (a[t + lag] against ref[t])."""
    a_parts, r_parts = [], []
    for a, r in pairs:
        if lag >= 0:
            a_parts.append(a[lag:])
            r_parts.append(r[: len(r) - lag])
        else:
            a_parts.append(a[: len(a) + lag])
            r_parts.append(r[-lag:])
    a_cat, r_cat = np.concatenate(a_parts), np.concatenate(r_parts)
    return float(np.corrcoef(a_cat, r_cat)[0, 1]) if a_cat.std() > 0 and r_cat.std() > 0 else float("nan")


def evaluate_motion(lips, utterances: list[MotionUtterance]) -> dict:
    """lips: LipModel or EnergyLips; utterances: motion_utterances(...). Returns the module docstring's metrics."""
    frame_s = 1.0 / MOTION_HZ
    pbm_hits, open_hits, sil_vals = [], [], []
    pairs, raw_pairs = [], []
    for utt in utterances:
        t, a = aperture_track(lips, utt.audio)
        parts = _phone_parts(utt.speech.phones)

        def window(start_s: float, end_s: float) -> np.ndarray:
            return a[(t >= start_s - 1e-9) & (t <= end_s + frame_s + 1e-9)]

        for start_s, end_s, vis, name in parts:
            if vis == "PP" and any(c in name for c in "pbm"):
                w = window(start_s, end_s)
                if len(w):
                    pbm_hits.append(bool(w.min() < CLOSED_APERTURE))
            elif vis in OPEN_VOWEL_VISEMES:
                w = window(start_s, end_s)
                if len(w):
                    open_hits.append(bool(w.max() > OPEN_APERTURE))
        for start_s, end_s in _pauses(parts):
            if end_s - start_s > MIN_PAUSE_S:
                inside = (t >= start_s + EDGE_S) & (t <= end_s - EDGE_S)
                sil_vals.extend((a[inside] < CLOSED_APERTURE).tolist())
        raw_pairs.append((a, reference_openness(utt.speech, len(a), smooth=False)))
        pairs.append((a, reference_openness(utt.speech, len(a))))

    def frac(x: list) -> float:
        return float(np.mean(x)) if x else float("nan")

    lag_ms = _best_lag_ms(raw_pairs)
    return {
        "pbm_closed": frac(pbm_hits),
        "silence_closed": frac(sil_vals),
        "open_vowels_open": frac(open_hits),
        "openness_r": _r_at_lag(raw_pairs, 0),
        "lag_ms": lag_ms,
        "best_r": _r_at_lag(raw_pairs, int(round(lag_ms * MOTION_HZ / 1000))),
        "openness_r_smoothed": _r_at_lag(pairs, 0),
        "lag_ms_smoothed": _best_lag_ms(pairs),
        "n_utterances": len(utterances), "n_pbm": len(pbm_hits), "n_open_vowels": len(open_hits),
        "n_silence_frames": len(sil_vals), "n_frames": int(sum(len(a) for a, _ in raw_pairs)),
    }


def evaluate_groups(lips, utterances: list[MotionUtterance]) -> dict[str, dict]:
    """Metrics per utterance group ("language/condition"), per language ("lang/*"), per condition
    ("*/condition") and over everything ("all"), in that order of keys."""
    groups: dict[str, list[MotionUtterance]] = {}
    for utt in utterances:
        lang, _, cond = (utt.group or "?/?").partition("/")
        for key in (f"{lang}/{cond}", f"{lang}/*", f"*/{cond}", "all"):
            groups.setdefault(key, []).append(utt)
    order = sorted(k for k in groups if "*" not in k and k != "all")
    order += sorted(k for k in groups if k.endswith("/*")) + sorted(k for k in groups if k.startswith("*/"))
    return {k: evaluate_motion(lips, groups[k]) for k in order + ["all"]}


def meets_targets(result: dict) -> dict[str, bool]:
    """Which of TARGETS a result meets."""
    return {"pbm_closed": result["pbm_closed"] >= TARGETS["pbm_closed"],
            "silence_closed": result["silence_closed"] >= TARGETS["silence_closed"],
            "open_vowels_open": result["open_vowels_open"] >= TARGETS["open_vowels_open"],
            "openness_r": result["openness_r"] >= TARGETS["openness_r"],
            "lag_ms": TARGETS["lag_ms_min"] <= result["lag_ms"] <= TARGETS["lag_ms_max"]}


def compare(utterances: list[MotionUtterance], model_path=None, voice_gate: bool = False) -> dict[str, dict]:
    """{"LipModel": metrics, "EnergyLips": metrics} on the same utterances (CPU, one thread); voice_gate: the
    lip model's rows through the voice activity gate (LipModel's voice_gate)."""
    from facecast.runtime.engine.motion.lips import DEFAULT_MODEL_PATH, EnergyLips, LipModel

    model = LipModel(model_path or DEFAULT_MODEL_PATH, device="cpu", voice_gate=voice_gate)
    return {"LipModel": evaluate_motion(model, utterances), "EnergyLips": evaluate_motion(EnergyLips(), utterances)}


KEYS = ("pbm_closed", "silence_closed", "open_vowels_open", "openness_r", "lag_ms", "best_r", "openness_r_smoothed",
        "lag_ms_smoothed")


def format_table(results: dict[str, dict[str, dict]]) -> str:
    """results: {condition: compare(...)} -> a markdown table (for `facecast eval lipsync`)."""
    lines = ["| condition | model | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS)]
    for cond, by_model in results.items():
        for name, r in by_model.items():
            cells = [f"{r[k]:.1f}" if k.startswith("lag") else f"{r[k]:.3f}" for k in KEYS]
            lines.append(f"| {cond} ({r['n_utterances']} utt, {r['n_pbm']} pbm) | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def compare_all(n: int, model_path=None, voice_gate: bool = False) -> dict[str, dict[str, dict]]:
    """{"clean" | "augmented" | "real" | "heldout": compare(...)}: n dev utterances per synthetic condition
    (synthesized in that order: espeak-ng's timing state carries across calls), the real recordings
    (realspeech.real_utterances) and the held-out voices, languages and rooms (heldout.py; skipped, with
    "heldout_missing" naming the Debian packages, when Festival's voices are not installed)."""
    from .heldout import synthetic_heldout
    from .realspeech import real_utterances

    missing: list[str] = []
    heldout = synthetic_heldout(missing)
    out = {"clean": compare(motion_utterances(n, augmented=False), model_path, voice_gate),
           "augmented": compare(motion_utterances(n, augmented=True), model_path, voice_gate),
           "real": compare(real_utterances(("en",)), model_path, voice_gate)}
    if heldout:
        out["heldout"] = compare(heldout, model_path, voice_gate)
    return out


def groups_all(model_path=None, voice_gate: bool = False) -> dict[str, dict]:
    """The lip model per language and per condition on the held-out set and the real recordings."""
    from facecast.runtime.engine.motion.lips import DEFAULT_MODEL_PATH, LipModel

    from .heldout import heldout_utterances

    return evaluate_groups(LipModel(model_path or DEFAULT_MODEL_PATH, device="cpu", voice_gate=voice_gate),
                           heldout_utterances())


def format_groups(groups: dict[str, dict]) -> str:
    """evaluate_groups(...) -> a markdown table."""
    lines = ["| group | utt | " + " | ".join(KEYS) + " |", "|---|---|" + "---|" * len(KEYS)]
    for g, r in groups.items():
        cells = [f"{r[k]:.1f}" if k.startswith("lag") else f"{r[k]:.3f}" for k in KEYS]
        lines.append(f"| {g} | {r['n_utterances']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Blendshape-level lip-sync metrics, lip model vs energy baseline")
    p.add_argument("--n", type=int, default=60, help="dev utterances per condition")
    args = p.parse_args(argv)
    print(format_table(compare_all(args.n)))
    print(format_groups(groups_all()))


if __name__ == "__main__":
    main()
