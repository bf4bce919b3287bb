"""Tests for facecast.runtime.engine.motion's face models: mouth, prosody, head, eyes, emotion and the engine.

Run as a script (`python tests/test_motion.py [out.png]`) to render the blendshape curves of one synthesized
sentence to docs/motion_curves.png (needs matplotlib and libespeak-ng).
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from facecast.bridge.commands import COMMANDS
from facecast.bridge.schema import BLENDSHAPE_NAMES, EMOTIONS, VISEME_NAMES
from facecast.runtime.engine.motion.emotion import EmotionModel
from facecast.runtime.engine.motion.engine import MotionEngine, run_offline
from facecast.runtime.engine.motion.eyes import EYE_PITCH_FULL_DEG, EYE_YAW_FULL_DEG
from facecast.runtime.engine.motion.head import distance_to_z_m
from facecast.runtime.engine.motion.mouth import LOUDNESS_JAW_GAIN, MouthModel
from facecast.runtime.engine.motion.prosody import ProsodyTracker
from fakes.lips import ConstantLips, IndexLips

SR = 16_000
RATE = 60.0
V = {name: i for i, name in enumerate(VISEME_NAMES)}


def onehot(name: str) -> np.ndarray:
    v = np.zeros(len(VISEME_NAMES), np.float32)
    v[V[name]] = 1.0
    return v


def viseme_rows(spec: list[tuple[str, float]]) -> np.ndarray:
    """[(viseme, seconds), ...] -> (T, 15) one-hot rows at 100 Hz."""
    return np.concatenate([np.repeat(onehot(n)[None], int(round(s * 100)), axis=0) for n, s in spec])


def hold(engine: MotionEngine, name: str, seconds: float, t0: float = 0.0):
    """Step `engine` with one viseme held for `seconds` from t0; returns the frames."""
    n = int(round(seconds * RATE))
    return [engine.step(t0 + (i + 1) / RATE, onehot(name)) for i in range(n)]


def shapes(frame, *names: str) -> float:
    return sum(frame.blend(n) for n in names)


def speechlike(duration_s: float, seed: int = 0, accent_every: int = 5):
    """Voiced 'speech': 4 syllables/s of a harmonic tone, every `accent_every`th syllable +9 dB and +3 st;
    phrases of 2-3.5 s with 0.6 s pauses. Returns (audio (N,), accent peak times, phrase end times)."""
    rng = np.random.default_rng(seed)
    audio = np.zeros(int(duration_s * SR), np.float32)
    accents, ends, t, k = [], [], 0.4, 0
    while t < duration_s - 4.0:
        phrase_end = t + rng.uniform(2.0, 3.5)
        while t < phrase_end:
            dur = rng.uniform(0.2, 0.3)
            strong = k % accent_every == 0
            n = int(dur * SR)
            tt = np.arange(n) / SR
            f0 = 110.0 * (2 ** (3 / 12) if strong else 1.0) * (1 - 0.05 * tt / dur)
            phase = 2 * np.pi * np.cumsum(f0) / SR
            env = np.sin(np.pi * tt / dur) ** 2 * (0.35 if strong else 0.12)
            i0 = int(t * SR)
            audio[i0:i0 + n] += (env * (np.sin(phase) + 0.5 * np.sin(2 * phase) + 0.25 * np.sin(3 * phase)))[
                : len(audio) - i0]
            if strong:
                accents.append(t + dur / 2)
            t += dur
            k += 1
        ends.append(t)
        t += 0.6
    return audio, np.array(accents), np.array(ends)


# --- mouth ------------------------------------------------------------------------------------------------

def test_pp_closes_lips_within_40ms_of_onset():
    onset = 0.505  # mid-frame at both 60 Hz and 100 Hz
    for before in ("aa", "oh", "E", "sil"):
        vis = viseme_rows([("sil", 0.1), (before, onset - 0.1), ("PP", 0.08), ("aa", 0.2)])
        frames = run_offline(np.zeros(int(0.9 * SR), np.float32), vis, MotionEngine(seed=0))
        in_pp = [f for f in frames if onset + 0.040 <= f.t_audio_s <= onset + 0.08]
        assert in_pp, "no frame inside the PP closure"
        assert max(f.lip_aperture() for f in in_pp) < 0.05, before
        assert min(f.blend("mouthPressLeft") for f in in_pp) > 0.1
        if before != "sil":  # the lips were visibly apart before the closure
            assert [f for f in frames if f.t_audio_s < onset][-1].lip_aperture() > 0.1


def test_silence_is_closed_and_neutral():
    eng = MotionEngine(seed=3)
    frames = hold(eng, "sil", 0.5)
    assert all(abs(f.lip_aperture()) < 1e-6 for f in frames)
    frames = hold(eng, "aa", 0.3, 0.5) + hold(eng, "sil", 0.4, 0.8)
    assert frames[17].lip_aperture() > 0.4
    assert max(abs(f.lip_aperture()) for f in frames[-12:]) < 0.01  # closed again 200 ms into silence
    eng2 = MotionEngine(seed=3)
    assert all(abs(eng2.step((i + 1) / RATE, None).lip_aperture()) < 1e-6 for i in range(30))


@pytest.mark.parametrize("vowel", ["ou", "oh"])
def test_rounded_vowels_round(vowel):
    f = hold(MotionEngine(), vowel, 0.3)[-1]
    rounded = shapes(f, "mouthFunnel", "mouthPucker")
    spread = shapes(f, "mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight")
    assert rounded > 0.6 and rounded > 3 * spread + 0.3


@pytest.mark.parametrize("vowel", ["ih", "E"])
def test_front_vowels_spread(vowel):
    f = hold(MotionEngine(), vowel, 0.3)[-1]
    spread = shapes(f, "mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight")
    assert spread > 0.5 and spread > 3 * shapes(f, "mouthFunnel", "mouthPucker") + 0.3


def test_aa_is_the_most_open():
    apertures = {v: hold(MotionEngine(), v, 0.3)[-1].lip_aperture() for v in VISEME_NAMES}
    assert apertures["aa"] > 0.45
    assert max(apertures, key=apertures.get) == "aa"
    assert apertures["PP"] < 0.01 and apertures["sil"] < 0.01 and apertures["FF"] < 0.06


def test_loudness_opens_the_jaw_but_not_pauses_or_closures():
    jaw, close = BLENDSHAPE_NAMES.index("jawOpen"), BLENDSHAPE_NAMES.index("mouthClose")

    def held(name: str, drive: float) -> float:
        mouth = MouthModel()
        for _ in range(18):
            out = mouth.step(onehot(name), 1 / RATE, jaw_drive=drive)
        return float(out[jaw] - out[close])

    assert held("E", 1.0) == pytest.approx(held("E", 0.0) + LOUDNESS_JAW_GAIN, abs=0.01)
    assert held("ih", 0.5) == pytest.approx(held("ih", 0.0) + 0.5 * LOUDNESS_JAW_GAIN, abs=0.01)
    assert held("sil", 1.0) < 1e-6  # a loud pause (noise, music) keeps the lips shut
    assert held("PP", 1.0) < 0.01  # and /p b m/ seal however loud
    assert held("E", float("nan")) == pytest.approx(held("E", 0.0))  # no measure = no drive


def test_intensity_and_smoothing():
    ap = [hold(MotionEngine(intensity=k), "aa", 0.3)[-1].lip_aperture() for k in (0.0, 1.0, 2.0)]
    assert ap[0] < 1e-6 < ap[1] < ap[2]
    fast = [f.lip_aperture() for f in hold(MotionEngine(smoothing=0.5), "aa", 0.1)]
    slow = [f.lip_aperture() for f in hold(MotionEngine(smoothing=3.0), "aa", 0.1)]
    assert fast[1] > slow[1] + 0.1  # coarticulation time scale follows `smoothing`
    with pytest.raises(ValueError, match="intensity"):
        MouthModel(intensity=3.0)


def test_rounding_lingers_longer_than_jaw():
    """Coarticulation: after /u/ the pucker decays more slowly than the jaw of /a/ falls."""
    eng = MotionEngine()
    hold(eng, "ou", 0.3)
    pucker = [f.blend("mouthPucker") for f in hold(eng, "sil", 0.1, 0.3)]
    eng = MotionEngine()
    hold(eng, "aa", 0.3)
    jaw = [f.blend("jawOpen") for f in hold(eng, "sil", 0.1, 0.3)]
    assert pucker[2] / pucker[0] > jaw[2] / jaw[0]


# --- prosody ----------------------------------------------------------------------------------------------

def test_prosody_f0_vad_boundary_and_chunking():
    t = np.arange(int(1.5 * SR)) / SR
    x = (0.3 * np.sin(2 * np.pi * 140 * t) + 0.1 * np.sin(2 * np.pi * 280 * t)).astype(np.float32)
    x[: int(0.3 * SR)] = 0
    x[int(1.0 * SR):] = 0
    feats = ProsodyTracker().push(x)
    assert len(feats) == 150
    voiced = [f.f0_hz for f in feats if 0.4 < f.t_s < 0.95]
    assert np.all(np.abs(np.array(voiced) / 140.0 - 1) < 0.02)
    starts = [f.t_s for f in feats if f.phrase_start]
    ends = [f.t_s for f in feats if f.boundary]
    assert len(starts) == 1 and 0.3 <= starts[0] <= 0.36
    assert len(ends) == 1 and 1.0 < ends[0] < 1.35
    assert not any(f.speaking for f in feats if f.t_s < 0.3 or f.t_s > 1.4)
    rng = np.random.default_rng(0)
    tracker, chunked, i = ProsodyTracker(), [], 0
    while i < len(x):
        n = int(rng.integers(1, 700))
        chunked += tracker.push(x[i:i + n])
        i += n
    assert chunked == feats


def test_prosody_finds_accents():
    audio, accents, _ = speechlike(20.0)
    feats = ProsodyTracker().push(audio)
    found = np.array([f.t_s for f in feats if f.accent])
    hits = sum(np.any((found > a) & (found < a + 0.2)) for a in accents)
    assert hits >= 0.8 * len(accents)
    assert len(found) <= 1.5 * len(accents)  # weak syllables mostly not accents


# --- blinks and gaze --------------------------------------------------------------------------------------

def blink_events(frames) -> list[float]:
    """Durations (s) of eyeBlinkLeft excursions above 0.1 that reach 0.9 (a full blink)."""
    b = np.array([f.blend("eyeBlinkLeft") for f in frames])
    out, start = [], None
    for i, v in enumerate(b):
        if v > 0.1 and start is None:
            start = i
        elif v <= 0.1 and start is not None:
            if b[start:i].max() > 0.9:
                out.append((i - start) / RATE)
            start = None
    return out


@pytest.fixture(scope="module")
def speech_minute():
    audio, accents, ends = speechlike(64.0, seed=1)
    return audio[: 60 * SR + SR], accents, ends


def test_blink_rate_and_duration(speech_minute):
    audio, _, _ = speech_minute
    vis = np.tile(onehot("E"), (len(audio) // 160, 1))
    speaking_rates, idle_rates, durations = [], [], []
    for seed in range(3):
        frames = run_offline(audio, vis, MotionEngine(seed=seed))[60:]
        speaking_rates.append(len(blink_events(frames)) * 60.0 / (len(frames) / RATE))
        durations += blink_events(frames)
        eng = MotionEngine(seed=seed)
        idle = [eng.step((i + 1) / RATE, None) for i in range(int(60 * RATE))]
        idle_rates.append(len(blink_events(idle)))
        durations += blink_events(idle)
    assert all(10 <= r <= 28 for r in speaking_rates) and 14 <= np.mean(speaking_rates) <= 22, speaking_rates
    assert all(6 <= r <= 20 for r in idle_rates) and 9 <= np.mean(idle_rates) <= 16, idle_rates
    assert np.mean(speaking_rates) > np.mean(idle_rates)
    assert 0.08 <= min(durations) and max(durations) <= 0.22, (min(durations), max(durations))


def test_gaze_modes_and_eye_blendshapes():
    eng = MotionEngine(seed=2)
    eng.set_gaze("target", yaw_deg=15.0, pitch_deg=-10.0, blend_s=0.2)
    eng.set_head("absolute", 0.0, 0.0, 0.0, blend_s=0.0)
    frames = [eng.step((i + 1) / RATE, None) for i in range(120)]
    g = np.array([f.gaze for f in frames[30:]])
    assert np.all(np.abs(g[:, 0] - 15.0) < 2.5) and np.all(np.abs(g[:, 1] + 10.0) < 3.5)  # micro-saccades
    f = frames[-1]
    assert f.blend("eyeLookOutLeft") == pytest.approx(f.gaze[0] / EYE_YAW_FULL_DEG, abs=1e-5)
    assert f.blend("eyeLookInRight") == pytest.approx(f.gaze[2] / EYE_YAW_FULL_DEG, abs=1e-5)
    assert f.blend("eyeLookUpLeft") == pytest.approx(-f.gaze[1] / EYE_PITCH_FULL_DEG, abs=1e-5)
    assert f.blend("eyeLookInLeft") == 0.0 and f.blend("eyeLookDownRight") == 0.0
    # camera mode: the eyes counter-rotate against the head to keep looking into the lens
    eng.set_gaze("camera", blend_s=0.0)
    eng.set_head("absolute", pitch_deg=8.0, yaw_deg=-12.0, blend_s=0.0)
    frames = [eng.step(2.0 + (i + 1) / RATE, None) for i in range(60)]
    g = np.array([fr.gaze for fr in frames[20:]])
    assert np.all(np.abs(g[:, 0] - 12.0) < 1.5) and np.all(np.abs(g[:, 1] + 8.0) < 3.5)
    # auto: wanders, within a plausible range
    eng = MotionEngine(seed=2)
    g = np.array([eng.step((i + 1) / RATE, None).gaze for i in range(int(20 * RATE))])
    assert 0.5 < g[:, 0].std() < 8.0 and np.abs(g).max() < 20.0


# --- head -------------------------------------------------------------------------------------------------

def test_head_bounded_deterministic_calm_in_silence(speech_minute):
    audio, _, _ = speech_minute
    audio = np.concatenate([audio[: 20 * SR], np.zeros(20 * SR, np.float32)])
    vis = np.tile(onehot("sil"), (len(audio) // 160, 1))
    runs = [np.array([f.head for f in run_offline(audio, vis, MotionEngine(seed=s, head_style="lively"))])
            for s in (5, 5, 6)]
    h = runs[0]
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])
    assert np.all(np.isfinite(h)) and np.abs(h[:, :3]).max() < 15.0 and np.abs(h[:, 3:5]).max() < 0.02
    speech, silence = h[int(2 * RATE): int(19 * RATE), :3], h[int(24 * RATE):, :3]
    assert np.all(speech.std(axis=0) > 0.4)
    assert np.all(silence.std(axis=0) > 0.05)  # idle motion, not a frozen head
    assert np.all(silence.std(axis=0) < 0.7 * speech.std(axis=0))
    assert np.abs(np.diff(h[:, :3], axis=0)).max() < 1.5  # deg per frame: no jerks


def test_nods_follow_accents(speech_minute):
    audio, accents, _ = speech_minute
    vis = np.tile(onehot("sil"), (len(audio) // 160, 1))
    pitch = np.array([f.head[0] for f in run_offline(audio, vis, MotionEngine(seed=4))])
    t = (np.arange(len(pitch)) + 1) / RATE
    after = [pitch[(t > a + 0.1) & (t < a + 0.35)].mean() for a in accents if a < 59]
    before = [pitch[(t > a - 0.35) & (t < a - 0.1)].mean() for a in accents if a < 59]
    assert np.mean(np.array(after) - np.array(before)) > 0.8  # chin goes down after accents


def test_head_override_modes():
    def run(setup, n=int(3 * RATE)):
        eng = MotionEngine(seed=7)
        out = []
        for i in range(n):
            if i == 60:
                setup(eng)
            out.append(eng.step((i + 1) / RATE, onehot("aa") if i % 30 < 15 else None).head)
        return np.array(out)

    base = run(lambda e: None)
    add = run(lambda e: e.set_head("add", pitch_deg=10.0, yaw_deg=-5.0, distance=2.0, blend_s=0.5))
    np.testing.assert_allclose(add[100:, :3] - base[100:, :3], np.tile([10.0, -5.0, 0.0], (len(base) - 100, 1)),
                               atol=1e-4)
    assert add[-1, 5] == pytest.approx(distance_to_z_m(2.0), abs=1e-6) == pytest.approx(0.3, abs=1e-6)
    ab = run(lambda e: e.set_head("absolute", pitch_deg=-20.0, yaw_deg=30.0, roll_deg=5.0, blend_s=0.5))
    np.testing.assert_allclose(ab[100:, :5], np.tile([-20.0, 30.0, 5.0, 0.0, 0.0], (len(base) - 100, 1)), atol=1e-4)
    for h in (add, ab):  # the blend is smooth: no per-frame step beyond the ramp's slope
        assert np.abs(np.diff(h[55:100, :3], axis=0)).max() < 1.5 * 40.0 / (0.5 * RATE) + 1.0

    def add_then_off(e):
        e.set_head("add", yaw_deg=20.0, blend_s=0.0)
        e.set_head("off", blend_s=0.5)
    np.testing.assert_allclose(run(add_then_off)[100:], base[100:], atol=1e-4)
    with pytest.raises(ValueError, match="distance"):
        MotionEngine().set_head("add", distance=5.0)
    with pytest.raises(ValueError, match="mode"):
        MotionEngine().set_head("relative")


# --- emotion ----------------------------------------------------------------------------------------------

def settle(emotion: str, intensity: float = 1.0):
    eng = MotionEngine(seed=0)
    eng.set_emotion(emotion, intensity, blend_s=0.3)
    frames = hold(eng, "sil", 1.0)
    return frames[-1], frames


def test_emotions_move_the_right_muscles():
    neutral, _ = settle("neutral")
    happy, _ = settle("happy")
    sad, _ = settle("sad")
    for name in ("mouthSmileLeft", "mouthSmileRight", "cheekSquintLeft", "cheekSquintRight"):
        assert happy.blend(name) > neutral.blend(name) + 0.25
    for name in ("browInnerUp", "mouthFrownLeft", "mouthFrownRight"):
        assert sad.blend(name) > neutral.blend(name) + 0.25
    assert settle("angry")[0].blend("browDownLeft") > 0.4
    surprised = settle("surprised")[0]
    assert surprised.blend("browOuterUpLeft") > 0.4 and surprised.lip_aperture() > 0.05
    assert settle("happy", 0.5)[0].blend("mouthSmileLeft") < happy.blend("mouthSmileLeft")


def test_emotion_blend_is_smooth_and_modulates_blinks_and_head():
    _, frames = settle("sad")
    for name in ("browInnerUp", "mouthFrownLeft", "browDownLeft", "mouthSmileLeft"):
        steps = np.abs(np.diff([f.blend(name) for f in frames]))
        assert steps.max() < 0.07, name
    model = EmotionModel()
    model.set("happy", 1.0, 0.0)
    model.step(1 / RATE)
    model.set("angry", 1.0, 0.5)
    offsets = np.array([model.step(1 / RATE).offsets for _ in range(60)])
    assert np.abs(np.diff(offsets, axis=0)).max() < 1.5 * 0.65 / (0.5 * RATE) + 1e-9
    sad_state = model
    sad_state.set("sad", 1.0, 0.0)
    s = sad_state.step(1 / RATE)
    assert s.blink_rate_scale < 1.0 and s.head_energy < 1.0 and s.head_pitch_bias_deg > 0
    with pytest.raises(ValueError, match="emotion"):
        MotionEngine().set_emotion("bored")


def test_pp_closes_even_when_surprised():
    eng = MotionEngine()
    eng.set_emotion("surprised", 1.0, blend_s=0.0)
    hold(eng, "aa", 0.3)
    assert hold(eng, "PP", 0.05, 0.3)[-1].lip_aperture() < 0.05


# --- engine -----------------------------------------------------------------------------------------------

def test_setters_match_control_commands():
    eng = MotionEngine()
    for cmd in ("set_emotion", "set_gaze", "set_head"):
        params = inspect.signature(getattr(eng, cmd)).parameters
        spec = {k: a for k, a in COMMANDS[cmd].items() if k != "session"}
        assert list(params) == list(spec), cmd
        for name, arg in spec.items():
            if not arg.required:
                assert params[name].default == arg.default, (cmd, name)


def test_random_inputs_stay_finite_and_in_range():
    rng = np.random.default_rng(11)
    eng = MotionEngine(seed=11, intensity=2.0, head_amplitude=2.0, head_style="lively")
    tracker = ProsodyTracker()
    t = 0.0
    for i in range(900):
        if i % 40 == 0:
            eng.set_emotion(str(rng.choice(EMOTIONS)), float(rng.uniform()), float(rng.uniform(0, 1)))
            eng.set_gaze(str(rng.choice(["auto", "camera", "target"])), *rng.uniform(-45, 45, 2), float(rng.uniform()))
            eng.set_head(str(rng.choice(["add", "absolute", "off"])), *rng.uniform(-90, 90, 3),
                         float(rng.uniform(0.25, 4.0)), float(rng.uniform(0, 1)))
        vis = rng.uniform(-0.5, 2.0, 15) if i % 7 else np.full(15, np.nan)
        audio = rng.normal(0, rng.choice([0.0, 0.01, 0.5, 3.0]), 267).astype(np.float32)
        t += float(rng.choice([1 / RATE, 0.0, 0.5, 1 / RATE]))
        f = eng.step(t, vis if i % 13 else None, tracker.push(audio))
        for arr in (f.blendshapes, f.head, f.gaze, f.visemes):
            assert np.all(np.isfinite(arr))
        assert f.blendshapes.shape == (len(BLENDSHAPE_NAMES),)
        assert f.blendshapes.min() >= 0.0 and f.blendshapes.max() <= 1.0
        assert np.abs(f.gaze).max() <= 35.0 and np.abs(f.head[:3]).max() <= 120.0
        assert f.visemes.sum() == pytest.approx(1.0, abs=1e-5)


# --- the picture ------------------------------------------------------------------------------------------

def render_curves(path: str = "docs/motion_curves.png", text: str = "Would you like a cup of hot tea with milk? "
                  "Maybe we should go now, before the rain comes.") -> str:
    """Blendshape, blink and head curves of one espeak sentence, phones marked; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy.signal import resample_poly

    from facecast.runtime.workshop.motion import speechdata as sd

    speech = sd.synthesize(text, pad_s=0.6)
    vis = sd.viseme_track(speech)
    audio = resample_poly(speech.audio, SR, speech.sample_rate_hz).astype(np.float32)
    feats = ProsodyTracker().push(audio)
    frames = run_offline(audio, vis, MotionEngine(seed=0))
    t = np.array([f.t_audio_s for f in frames])
    b = lambda n: np.array([f.blend(n) for f in frames])  # noqa: E731
    fig, ax = plt.subplots(5, 1, figsize=(16, 13), sharex=True, gridspec_kw={"height_ratios": [1, 2, 1.3, 1, 1.3]})
    ta = np.arange(len(audio)) / SR
    ax[0].plot(ta, audio, lw=0.3, color="0.5")
    ax[0].plot([f.t_s for f in feats], [f.loudness for f in feats], color="C0", label="loudness")
    ax[0].plot([f.t_s for f in feats], [f.f0_hz / 300 for f in feats], ".", ms=2, color="C2", label="F0/300 Hz")
    for f in feats:
        if f.accent:
            ax[0].axvline(f.t_s, color="C3", lw=1, alpha=0.7)
        if f.phrase_start or f.boundary:
            ax[0].axvline(f.t_s, color="k", ls="--", lw=1)
    ax[0].set_title(f"{text!r}  (red: accents, dashed: phrase start/boundary)", fontsize=9)
    aperture = b("jawOpen") - b("mouthClose")
    for name, col in (("jawOpen", "C0"), ("mouthClose", "C1")):
        ax[1].plot(t, b(name), color=col, label=name)
    ax[1].plot(t, aperture, color="k", lw=2, label="aperture = jawOpen - mouthClose")
    ax[1].plot(t, b("mouthPressLeft"), color="C5", label="mouthPress")
    for a, e, ph in speech.phones:
        if ph != sd.PAUSE:
            vname = "/".join(sd.phone_visemes(ph, strict=False))
            bilabial = "PP" in vname
            ax[1].text((a + e) / 2, 0.72, ph, ha="center", fontsize=7, color="C3" if bilabial else "0.2")
            if bilabial:
                ax[1].axvspan(a, e, color="C3", alpha=0.12)
        ax[1].axvline(a, color="0.85", lw=0.5)
    ax[1].set_ylim(-0.05, 0.8)
    for name in ("mouthFunnel", "mouthPucker", "mouthStretchLeft", "mouthSmileLeft", "mouthRollLower",
                 "mouthLowerDownLeft", "mouthUpperUpLeft", "tongueOut"):
        ax[2].plot(t, b(name), label=name)
    ax[3].plot(t, b("eyeBlinkLeft"), label="eyeBlinkLeft")
    ax[3].plot(t, [f.gaze[0] / 10 for f in frames], label="gaze yaw/10 deg")
    ax[3].plot(t, [f.gaze[1] / 10 for f in frames], label="gaze pitch/10 deg")
    for i, name in enumerate(("pitch_deg", "yaw_deg", "roll_deg")):
        ax[4].plot(t, [f.head[i] for f in frames], label=name)
    ax[4].plot(t, [f.speaking * 1.0 for f in frames], color="0.6", ls=":", label="speaking")
    ax[4].set_xlabel("t_audio_s")
    for a in ax:
        a.legend(loc="upper right", fontsize=7, ncol=3)
        a.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


if __name__ == "__main__":
    import sys

    print(render_curves(*sys.argv[1:2]))


# --- MotionStream: the mouth looks ahead, the stamps and the latency say so ------------------------------
def test_stream_opens_the_jaw_wider_on_louder_audio():
    """The stream measures loudness on the mel frames its viseme rows came from and passes it to the mouth:
    the same vowel 20 dB under the speaker's peak opens (1 - 2/3) * LOUDNESS_JAW_GAIN less."""
    from facecast.runtime.engine.motion.stream import bake

    t = np.arange(8000) / 16000
    tone = np.sqrt(2) * np.sin(2 * np.pi * 220 * t)
    audio = np.concatenate([10 ** (-12 / 20) * tone, 10 ** (-32 / 20) * tone]).astype(np.float32)
    frames = bake(audio, ConstantLips({"E": 1.0}), MotionEngine(rate_hz=60.0))
    loud = np.median([f.lip_aperture() for f in frames if 0.2 < f.t_audio_s < 0.45])
    quiet = np.median([f.lip_aperture() for f in frames if 0.7 < f.t_audio_s < 0.95])
    assert loud - quiet == pytest.approx(LOUDNESS_JAW_GAIN / 3, abs=0.02)


@pytest.mark.parametrize("lead_s", [0.0, 0.015])
def test_stream_mouth_leads_its_stamp_and_waits_for_the_audio(lead_s):
    from facecast.runtime.engine.motion.features import HOP
    from facecast.runtime.engine.motion.stream import MotionStream

    stream = MotionStream(IndexLips(), MotionEngine(rate_hz=60.0), lead_s=lead_s)
    assert stream.lookahead_s == pytest.approx(0.04 + lead_s)
    fed, seen = 0, []
    audio = np.zeros(16000, np.float32)
    for start in range(0, len(audio), 160):  # 10 ms chunks, as a microphone delivers them
        fed += 160
        for tf in stream.feed(audio[start:start + 160]):
            assert tf.needed_sample_index < fed  # never emitted before the audio it needs
            seen.append(tf)
    for tf in seen[5:40]:
        t1 = tf.frame.t_audio_s
        # rows used: centres in (t0 + lead, t1 + lead] (lead 0: rows overlapping (t0, t1])
        if lead_s:
            lo = math.floor((t1 - 1 / 60 + lead_s) * 100 + 0.5 + 1e-9)
            hi = math.floor((t1 + lead_s) * 100 + 0.5 + 1e-9)
        else:
            lo, hi = math.floor((t1 - 1 / 60) * 100 + 1e-9), math.ceil(t1 * 100 - 1e-9)
        want = np.zeros(len(VISEME_NAMES))
        for k in range(lo, hi):
            want[(k % 14) + 1] += 1.0 / (hi - lo)
        assert np.allclose(tf.frame.visemes, want, atol=1e-6), t1
        assert tf.needed_sample_index == (hi + 4) * HOP - 1
    # the lead costs one more 10 ms row for most frames at 60 Hz (two for every third one)
    waits = [tf.needed_sample_index / 16000 - tf.frame.t_audio_s for tf in seen[5:65]]
    assert np.median(waits) == pytest.approx(0.04 + (0.01 if lead_s else 0.0) + 0.0033, abs=0.004)
