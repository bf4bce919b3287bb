"""Visemes -> ARKit mouth blendshapes, with coarticulation.

`MouthModel.step(visemes, dt_s)` mixes one target pose per Oculus viseme (VISEME_POSES) by the viseme weights
and moves the mouth towards it with asymmetric one-pole smoothing: each channel has its own rise and fall
time constants, so a slow gesture (lip rounding) spills into neighbouring phones while a fast one (a jaw
closing for a stop) still shows. Streaming: nothing looks past the visemes it is given.

Lip aperture is jawOpen - mouthClose (MotionFrame.lip_aperture). Bilabial closure is modelled as its own
state, `closure` in 0..1, smoothed with a ~8 ms attack so /p b m/ seal within two 60 Hz frames even when the
jaw is still lowered from the previous vowel: mouthClose = closure * jawOpen, so the aperture is
jawOpen * (1 - closure) and reaches ~0 whatever the jaw does. Silence is the neutral pose: everything 0,
lips together. The viseme weights are sharpened before mixing (VISEME_SHARPNESS, CLOSURE_GAIN, SILENCE_BIAS) so that
an uncertain model still seals /p b m/, keeps pauses shut and leaves vowels open instead of hovering
half-open.

Loudness drives the jaw too: `step(..., jaw_drive=x)` (x in 0..1, lips.LoudnessOpen of the audio the frame
shows) adds LOUDNESS_JAW_GAIN * x to the jaw target, weighted by how little the (sharpened, biased) viseme
weights say silence, and still under the closure: louder syllables open wider, as real jaws do, and a vowel the
lip model half-reads as a consonant still opens; pauses and /p b m/ stay shut.

`intensity` (0..2) scales the poses (articulation strength; closure is not scaled, closed lips stay closed);
`smoothing` (0..4, 1 = default) scales every time constant, the closure attack capped at 15 ms.
"""

from __future__ import annotations

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, VISEME_NAMES

from .filters import AsymmetricSmoother

# The channels the mouth model drives (mouthClose is derived from the closure state, not posed).
MOUTH_CHANNELS: tuple[str, ...] = (
    "jawOpen", "mouthFunnel", "mouthPucker", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthPressLeft", "mouthPressRight",
    "mouthRollLower", "mouthRollUpper", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "mouthShrugLower", "mouthShrugUpper", "tongueOut",
)
_BS = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}
_CH = {n: i for i, n in enumerate(MOUTH_CHANNELS)}
_SIL = VISEME_NAMES.index("sil")
_JAW = _CH["jawOpen"]

# Symmetric shorthand expanded to Left/Right below: smile, stretch, press, lowerDown, upperUp.
_PAIRED = ("mouthSmile", "mouthStretch", "mouthPress", "mouthLowerDown", "mouthUpperUp")

# Per-viseme target poses. "closure" is the bilabial seal (0..1), not a blendshape. Values are for a
# moderately articulating speaker; intensity scales them. Consonants and close vowels keep the jaw at
# 0.18-0.26: a short vowel between two of them that the lip model half-reads as its neighbour (a 30-60 ms
# schwa, an Italian vowel between nasals) then still opens the lips visibly, and the jaw's openness per
# viseme follows eval_lips.MOUTH_OPEN's proportions more closely.
VISEME_POSES: dict[str, dict[str, float]] = {
    "sil": {},
    "PP": {"jawOpen": 0.06, "closure": 1.0, "mouthPress": 0.35, "mouthRollLower": 0.15, "mouthRollUpper": 0.10,
           "mouthShrugLower": 0.15},
    "FF": {"jawOpen": 0.08, "closure": 0.6, "mouthRollLower": 0.45, "mouthUpperUp": 0.20, "mouthShrugLower": 0.1},
    "TH": {"jawOpen": 0.18, "tongueOut": 0.45, "mouthLowerDown": 0.10, "mouthUpperUp": 0.05},
    "DD": {"jawOpen": 0.22, "mouthStretch": 0.10, "mouthLowerDown": 0.12, "mouthUpperUp": 0.08},
    "kk": {"jawOpen": 0.26, "mouthStretch": 0.10, "mouthLowerDown": 0.10},
    "CH": {"jawOpen": 0.12, "mouthFunnel": 0.45, "mouthPucker": 0.15, "mouthUpperUp": 0.25, "mouthLowerDown": 0.20},
    "SS": {"jawOpen": 0.07, "mouthStretch": 0.30, "mouthSmile": 0.10, "mouthUpperUp": 0.15, "mouthLowerDown": 0.15},
    "nn": {"jawOpen": 0.20, "mouthLowerDown": 0.06, "mouthStretch": 0.05},
    "RR": {"jawOpen": 0.18, "mouthFunnel": 0.30, "mouthPucker": 0.20, "mouthUpperUp": 0.05},
    "aa": {"jawOpen": 0.60, "mouthLowerDown": 0.30, "mouthUpperUp": 0.10, "mouthStretch": 0.08},
    "E": {"jawOpen": 0.34, "mouthStretch": 0.30, "mouthSmile": 0.15, "mouthLowerDown": 0.20, "mouthUpperUp": 0.10},
    "ih": {"jawOpen": 0.22, "mouthStretch": 0.45, "mouthSmile": 0.30, "mouthLowerDown": 0.15, "mouthUpperUp": 0.15},
    "oh": {"jawOpen": 0.40, "mouthFunnel": 0.55, "mouthPucker": 0.25, "mouthLowerDown": 0.10},
    "ou": {"jawOpen": 0.18, "mouthPucker": 0.70, "mouthFunnel": 0.45, "mouthShrugLower": 0.08},
}

# (attack_s, release_s) per channel family. Jaw and tongue are quick; rounding is slow to come and slower to
# go (it anticipates and lingers, the classic coarticulation of /u/); spreading sits between.
_TIME_CONSTANTS_S: dict[str, tuple[float, float]] = {
    # Quick both ways: the viseme rows are already averaged over the frame and the frame looks ahead of
    # its audio (stream.MOUTH_LEAD_S); a slower jaw trails the phones by its time constant.
    "jawOpen": (0.008, 0.008),
    "mouthFunnel": (0.050, 0.080), "mouthPucker": (0.050, 0.080),
    "mouthSmile": (0.045, 0.070), "mouthStretch": (0.040, 0.060),
    "mouthPress": (0.015, 0.040), "mouthRollLower": (0.025, 0.050), "mouthRollUpper": (0.025, 0.050),
    "mouthLowerDown": (0.035, 0.045), "mouthUpperUp": (0.035, 0.045),
    "mouthShrugLower": (0.030, 0.060), "mouthShrugUpper": (0.030, 0.060),
    "tongueOut": (0.030, 0.040),
}
# An uncertain lip model spreads its weight (say PP 0.5, aa 0.3, sil 0.2); mixing poses by those weights
# gives a half-open mouth that is neither sealed for /p b m/ nor open for the vowel. Mixing by w^SHARPNESS
# (renormalised) lets the leading viseme dominate, and the seal is complete once the (sharpened) bilabial
# weight reaches 1/CLOSURE_GAIN = 0.125: in noisy audio the model often gives a closure no more weight, and
# lips that fail to touch on /p b m/ are a glaring error. Gain 8 (was 5) since the mouth looks ahead of its
# audio (stream.MOUTH_LEAD_S): the seal then comes from the rows just before the closure, where the model is
# least sure; chosen on the degraded dev set and the held-out voices, checked on real speech (BENCHMARKS.md).
VISEME_SHARPNESS = 2.0
CLOSURE_GAIN = 8.0
# Silence's (sharpened) weight counts this many times: when the model hesitates between a pause and a sound,
# the mouth stays shut. A mouth flapping in a pause (reverb tails, noise) is the more visible error.
SILENCE_BIAS = 3.0
# Jaw opening added per unit of relative loudness (lips.LoudnessOpen), times the non-silence weight. Chosen on
# real English and Mandarin recordings and the held-out voices (BENCHMARKS.md, lip sync): 0.2-0.3 lift real
# speech's open vowels from ~0.91 to ~0.95 and r slightly; with no silence gate pauses open in noise.
LOUDNESS_JAW_GAIN = 0.25
CLOSURE_ATTACK_S = 0.008  # the seal of /p b m/: must show within ~30 ms
CLOSURE_RELEASE_S = 0.012  # the release burst opens the lips fast too: a slower release trails the vowel
_MAX_CLOSURE_ATTACK_S = 0.015


def _pose_matrix() -> tuple[np.ndarray, np.ndarray]:
    """(15, C) channel targets and (15,) closure targets, VISEME_NAMES order."""
    poses = np.zeros((len(VISEME_NAMES), len(MOUTH_CHANNELS)))
    closure = np.zeros(len(VISEME_NAMES))
    for v, name in enumerate(VISEME_NAMES):
        for key, value in VISEME_POSES[name].items():
            if key == "closure":
                closure[v] = value
            elif key in _PAIRED:
                poses[v, _CH[key + "Left"]] = poses[v, _CH[key + "Right"]] = value
            else:
                poses[v, _CH[key]] = value
    return poses, closure


def _family(channel: str) -> str:
    return channel.removesuffix("Left").removesuffix("Right")


class MouthModel:
    """Streaming viseme -> mouth blendshape mapper.

    step(visemes (15,) weights >= 0 in VISEME_NAMES order (normalised here; all-zero counts as sil), dt_s,
    bias (C,) optional per-channel offsets in MOUTH_CHANNELS order added to the target, e.g. an emotion's
    smile, jaw_drive relative loudness 0..1 of the frame's audio, 0 = none) -> (52,) float64 with only the
    mouth channels, mouthClose and tongueOut set, all in 0..1.
    """

    def __init__(self, intensity: float = 1.0, smoothing: float = 1.0) -> None:
        self._poses, self._closure_pose = _pose_matrix()
        self.intensity = intensity
        self.smoothing = smoothing
        self.reset()

    @property
    def intensity(self) -> float:
        return self._intensity

    @intensity.setter
    def intensity(self, value: float) -> None:
        if not 0.0 <= value <= 2.0:
            raise ValueError(f"mouth intensity {value} outside 0..2 (1 = default articulation)")
        self._intensity = float(value)

    @property
    def smoothing(self) -> float:
        return self._smoothing

    @smoothing.setter
    def smoothing(self, value: float) -> None:
        if not 0.0 <= value <= 4.0:
            raise ValueError(f"mouth smoothing {value} outside 0..4 (1 = default time constants, 0 = none)")
        self._smoothing = float(value)
        attack = np.array([_TIME_CONSTANTS_S[_family(c)][0] for c in MOUTH_CHANNELS]) * value
        release = np.array([_TIME_CONSTANTS_S[_family(c)][1] for c in MOUTH_CHANNELS]) * value
        if hasattr(self, "_smooth"):
            self._smooth.attack_s, self._smooth.release_s = attack, release
            self._closure.attack_s[:] = min(CLOSURE_ATTACK_S * value, _MAX_CLOSURE_ATTACK_S)
            self._closure.release_s[:] = CLOSURE_RELEASE_S * value
        else:
            self._smooth = AsymmetricSmoother(len(MOUTH_CHANNELS), attack, release)
            self._closure = AsymmetricSmoother(
                1, min(CLOSURE_ATTACK_S * value, _MAX_CLOSURE_ATTACK_S), CLOSURE_RELEASE_S * value)

    def reset(self) -> None:
        """Back to the neutral closed mouth."""
        self._smooth.value[:] = 0.0
        self._closure.value[:] = 0.0

    @property
    def closure(self) -> float:
        """Current bilabial seal, 0..1: mouthClose = closure * jawOpen."""
        return float(self._closure.value[0])

    def target(self, visemes: np.ndarray, jaw_drive: float = 0.0) -> tuple[np.ndarray, float]:
        """(C,) channel targets and the closure target for one viseme distribution and relative loudness
        (before smoothing)."""
        w = np.nan_to_num(np.asarray(visemes, np.float64).reshape(-1), nan=0.0, posinf=0.0, neginf=0.0)
        if w.shape != (len(VISEME_NAMES),):
            raise ValueError(f"visemes must be ({len(VISEME_NAMES)},) in VISEME_NAMES order, got {w.shape}")
        w = np.clip(w, 0.0, None)
        if w.sum() > 1e-6:
            w = (w / w.max()) ** VISEME_SHARPNESS  # scaled first so tiny weights don't underflow
            w[_SIL] *= SILENCE_BIAS
        total = w.sum()
        w = w / total if total > 1e-6 else np.eye(len(VISEME_NAMES))[0]
        channels = w @ self._poses
        drive = float(np.clip(np.nan_to_num(jaw_drive), 0.0, 1.0))
        channels[_JAW] += LOUDNESS_JAW_GAIN * drive * (1.0 - w[_SIL])
        return self._intensity * channels, min(1.0, CLOSURE_GAIN * float(w @ self._closure_pose))

    def step(self, visemes: np.ndarray, dt_s: float, bias: np.ndarray | None = None,
             jaw_drive: float = 0.0) -> np.ndarray:
        channels, closure = self.target(visemes, jaw_drive)
        if bias is not None:
            channels = channels + bias
        channels = np.clip(channels, 0.0, 1.0)
        smooth = self._smooth.step(channels, dt_s)
        seal = float(self._closure.step(np.array([closure]), dt_s)[0])
        out = np.zeros(len(BLENDSHAPE_NAMES))
        for c, name in enumerate(MOUTH_CHANNELS):
            out[_BS[name]] = smooth[c]
        out[_BS["mouthClose"]] = seal * smooth[_CH["jawOpen"]]
        return np.clip(out, 0.0, 1.0)


def channel_bias(blendshapes: np.ndarray) -> np.ndarray:
    """(52,) blendshape offsets -> (C,) offsets on MOUTH_CHANNELS (the rest dropped), for MouthModel.step."""
    return np.array([blendshapes[_BS[name]] for name in MOUTH_CHANNELS])
