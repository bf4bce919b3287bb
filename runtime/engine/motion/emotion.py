"""Emotion -> blendshape offsets, head bias and energy, blink-rate scale; changes blend smoothly.

`EmotionModel.set(emotion, intensity, blend_s)` (control `set_emotion`, names from bridge.schema.EMOTIONS)
and `EmotionModel.step(dt_s) -> EmotionState`. The state is a weight per emotion (neutral implied by the
rest) times intensity, ramped with a smoothstep over blend_s, so every output moves by at most
1.5 * |change| * dt_s / blend_s per step. Offsets are added to the face by the engine; mouth offsets go
through the mouth model so that lip closure on /p b m/ still wins over a surprised jaw.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, EMOTIONS

from .filters import Ramp

_PAIRED = ("browDown", "browOuterUp", "cheekSquint", "mouthSmile", "mouthFrown", "mouthDimple", "mouthStretch",
           "mouthPress", "eyeSquint", "eyeWide", "noseSneer", "mouthUpperUp", "mouthLowerDown")

# Offsets at intensity 1 (FACS-style: happy = AU6+AU12, sad = AU1+AU4+AU15, angry = AU4+AU5/7+AU23,
# surprised = AU1+AU2+AU5+AU26).
EMOTION_POSES: dict[str, dict[str, float]] = {
    "neutral": {},
    "happy": {"mouthSmile": 0.55, "cheekSquint": 0.40, "eyeSquint": 0.20, "mouthDimple": 0.15,
              "browOuterUp": 0.08, "mouthUpperUp": 0.05},
    "sad": {"browInnerUp": 0.60, "browDown": 0.12, "mouthFrown": 0.45, "mouthShrugLower": 0.20,
            "mouthPress": 0.10, "eyeSquint": 0.08, "mouthRollLower": 0.05},
    "angry": {"browDown": 0.65, "eyeSquint": 0.30, "noseSneer": 0.30, "mouthPress": 0.25, "mouthFrown": 0.15,
              "eyeWide": 0.05, "mouthRollUpper": 0.08},
    "surprised": {"browInnerUp": 0.60, "browOuterUp": 0.70, "eyeWide": 0.60, "jawOpen": 0.12,
                  "mouthFunnel": 0.08, "mouthLowerDown": 0.10},
}
# (blink rate scale, head energy scale, head pitch bias deg (> 0 chin down)) at intensity 1
EMOTION_MODIFIERS: dict[str, tuple[float, float, float]] = {
    "neutral": (1.0, 1.0, 0.0),
    "happy": (1.05, 1.25, -1.0),
    "sad": (0.8, 0.6, 4.0),
    "angry": (0.75, 1.3, 2.0),
    "surprised": (0.6, 1.2, -2.5),  # wide-eyed stare, blinks held back
}
_BS = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}


def _pose_matrix() -> np.ndarray:
    poses = np.zeros((len(EMOTIONS), len(BLENDSHAPE_NAMES)))
    for e, name in enumerate(EMOTIONS):
        for key, value in EMOTION_POSES[name].items():
            if key in _PAIRED:
                poses[e, _BS[key + "Left"]] = poses[e, _BS[key + "Right"]] = value
            else:
                poses[e, _BS[key]] = value
    return poses


@dataclass
class EmotionState:
    """Blended emotion output for one step."""

    offsets: np.ndarray  # (52,) additive blendshape offsets, >= 0
    blink_rate_scale: float
    head_energy: float
    head_pitch_bias_deg: float
    weights: np.ndarray  # (len(EMOTIONS),) weight * intensity per emotion, EMOTIONS order


class EmotionModel:
    """Streaming emotion blend; see the module docstring."""

    def __init__(self) -> None:
        self._poses = _pose_matrix()
        self._mods = np.array([EMOTION_MODIFIERS[e] for e in EMOTIONS])
        self._weights = Ramp(np.zeros(len(EMOTIONS)))
        self.emotion, self.intensity = "neutral", 1.0

    def set(self, emotion: str, intensity: float = 1.0, blend_s: float = 0.3) -> None:
        if emotion not in EMOTIONS:
            raise ValueError(f"emotion {emotion!r} unknown; use one of {list(EMOTIONS)}")
        if not 0.0 <= intensity <= 1.0:
            raise ValueError(f"emotion intensity {intensity} outside 0..1")
        target = np.zeros(len(EMOTIONS))
        target[EMOTIONS.index(emotion)] = intensity
        self._weights.set(target, blend_s)
        self.emotion, self.intensity = emotion, float(intensity)

    def step(self, dt_s: float) -> EmotionState:
        w = self._weights.step(dt_s).copy()
        mods = np.ones(3) * np.array([1.0, 1.0, 0.0]) + w @ (self._mods - np.array([1.0, 1.0, 0.0]))
        return EmotionState(offsets=w @ self._poses, blink_rate_scale=float(mods[0]), head_energy=float(mods[1]),
                            head_pitch_bias_deg=float(mods[2]), weights=w)
