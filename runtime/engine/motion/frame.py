"""MotionFrame: what the motion engine produces for one instant of the audio stream."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES, GAZE_FIELDS, HEAD_FIELDS, VISEME_NAMES

_BLEND_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}


@dataclass
class MotionFrame:
    """One motion frame, in the wire vocabulary (facecast.bridge.schema).

    t_audio_s: position in the session's audio stream that this frame shows (lookahead compensated)
    blendshapes: (52,) float32 in 0..1, BLENDSHAPE_NAMES order
    head: (6,) float32 pitch/yaw/roll degrees + x/y/z metres, HEAD_FIELDS order
    gaze: (4,) float32 degrees, GAZE_FIELDS order
    visemes: (15,) float32 weights in 0..1 summing to ~1, VISEME_NAMES order
    speaking: voice activity at t_audio_s
    """

    t_audio_s: float
    blendshapes: np.ndarray = field(default_factory=lambda: np.zeros(len(BLENDSHAPE_NAMES), np.float32))
    head: np.ndarray = field(default_factory=lambda: np.zeros(len(HEAD_FIELDS), np.float32))
    gaze: np.ndarray = field(default_factory=lambda: np.zeros(len(GAZE_FIELDS), np.float32))
    visemes: np.ndarray = field(default_factory=lambda: _silence_visemes())
    speaking: bool = False

    def blend(self, name: str) -> float:
        """Weight of one ARKit blendshape by name."""
        return float(self.blendshapes[_BLEND_INDEX[name]])

    def set_blend(self, name: str, value: float) -> None:
        self.blendshapes[_BLEND_INDEX[name]] = value

    def lip_aperture(self) -> float:
        """jawOpen - mouthClose: how far apart the lips are, the quantity lip-sync is judged on."""
        return self.blend("jawOpen") - self.blend("mouthClose")


def _silence_visemes() -> np.ndarray:
    v = np.zeros(len(VISEME_NAMES), np.float32)
    v[0] = 1.0
    return v


def blend_index(name: str) -> int:
    """Index of an ARKit blendshape name in the wire array; KeyError names the bad name."""
    return _BLEND_INDEX[name]
