"""Blinks and gaze: natural blink timing, micro-saccades, look-aways, and the ARKit eye blendshapes.

`EyeModel.step(dt_s, speaking, phrase_start, boundary, head_pitch_deg, head_yaw_deg, blink_rate_scale)`
returns ((52,) blendshapes with only the eye channels set, (4,) gaze in GAZE_FIELDS order).

Blinks: a renewal process whose clock runs at BLINK_RATE_PER_MIN (speaking / idle, times the emotion's
blink_rate_scale); intervals are Gamma(4)-distributed (more regular than a Poisson process).
Phrase starts and boundaries fire a blink with probability 0.5 when the last one is not too recent, and ~12 %
of blinks are doubled. A blink closes in 45-65 ms, holds 0-20 ms, reopens in 70-100 ms.

Gaze: the output angles are eye-in-head (what a rig's eye bones and eyeLook* shapes need), degrees, sign as in
facecast.bridge.schema (yaw > 0 to the face's own left, pitch > 0 down). Targets are in the camera's frame:
mode "camera" looks into the lens, "target" at (yaw_deg, pitch_deg) from the lens, "auto" mostly at the lens
with brief (0.5-1.5 s) 2.5-6 deg look-aways, often at phrase boundaries. The eyes counter-rotate against the
head (vestibulo-ocular reflex) to hold the target, fully in camera/target mode and 60 % in auto. Every mode
adds micro-saccades (0.2-1 deg jumps every 0.5-2 s); saccades move with a 15 ms time constant. Mode and target
changes blend over blend_s. eyeLook* = angle / (EYE_YAW_FULL_DEG | EYE_PITCH_FULL_DEG), clipped to 1; the
upper lid follows a downward gaze (eyeBlink) and lifts for an upward one (eyeWide), both slightly.
"""

from __future__ import annotations

import math

import numpy as np

from facecast.bridge.schema import BLENDSHAPE_NAMES

from .filters import AsymmetricSmoother, Ramp

GAZE_MODES = ("auto", "camera", "target")
BLINK_RATE_PER_MIN = {"speaking": 13.0, "idle": 11.0}  # base clock; boundary blinks bring the totals up
EYE_YAW_FULL_DEG = 30.0  # eyeLookIn/Out = 1 at this many degrees
EYE_PITCH_FULL_DEG = 25.0  # eyeLookUp/Down = 1 at this many degrees
EYE_LIMIT_DEG = 35.0
_GAMMA_SHAPE = 4.0
_EVENT_BLINK_P = 0.5
_EVENT_MIN_PROGRESS = 0.35  # a boundary blink needs this much of the renewal clock since the last blink
_DOUBLE_BLINK_P = 0.12
_SACCADE_TAU_S = 0.015
_BS = {n: i for i, n in enumerate(BLENDSHAPE_NAMES)}


def gaze_to_blendshapes(gaze: np.ndarray) -> dict[str, float]:
    """(4,) eye-in-head gaze (GAZE_FIELDS order) -> eyeLook* weights. Left eye: yaw > 0 is out; right: in."""
    ly, lp, ry, rp = (float(g) for g in gaze)
    f = lambda deg, full: min(max(deg / full, 0.0), 1.0)  # noqa: E731 - a one-line ramp
    return {
        "eyeLookOutLeft": f(ly, EYE_YAW_FULL_DEG), "eyeLookInLeft": f(-ly, EYE_YAW_FULL_DEG),
        "eyeLookInRight": f(ry, EYE_YAW_FULL_DEG), "eyeLookOutRight": f(-ry, EYE_YAW_FULL_DEG),
        "eyeLookDownLeft": f(lp, EYE_PITCH_FULL_DEG), "eyeLookUpLeft": f(-lp, EYE_PITCH_FULL_DEG),
        "eyeLookDownRight": f(rp, EYE_PITCH_FULL_DEG), "eyeLookUpRight": f(-rp, EYE_PITCH_FULL_DEG),
    }


class EyeModel:
    """Seeded, streaming blinks and gaze; see the module docstring."""

    def __init__(self, seed: int | np.random.SeedSequence = 0) -> None:
        self._rng = np.random.default_rng(seed)
        self._threshold = self._draw_threshold()
        self._progress = float(self._rng.uniform(0.0, 0.8)) * self._threshold  # no blink on the first frame
        self._blink_t = -1.0  # time into the current blink, < 0 when none
        self._blink_shape = (0.055, 0.01, 0.085)
        self._double_in = -1.0  # seconds until a scheduled second blink
        self.blinks = 0
        self._base = Ramp(np.zeros(2))  # commanded direction in the camera frame
        self._auto = Ramp(1.0)  # weight of auto look-aways
        self.mode = "auto"
        self._wander = np.zeros(2)
        self._wander_in = float(self._rng.uniform(1.0, 3.0))
        self._micro = np.zeros(2)
        self._micro_in = float(self._rng.uniform(0.5, 2.0))
        self._eye = AsymmetricSmoother(2, _SACCADE_TAU_S, _SACCADE_TAU_S)

    def _draw_threshold(self) -> float:
        return float(self._rng.gamma(_GAMMA_SHAPE, 1.0 / _GAMMA_SHAPE))

    def set_gaze(self, mode: str = "target", yaw_deg: float = 0.0, pitch_deg: float = 0.0,
                 blend_s: float = 0.2) -> None:
        """Control `set_gaze`: arguments as in bridge.commands. yaw/pitch are used by mode "target" only."""
        if mode not in GAZE_MODES:
            raise ValueError(f"gaze mode {mode!r} unknown; use one of {list(GAZE_MODES)}")
        self.mode = mode
        base = (yaw_deg, pitch_deg) if mode == "target" else (0.0, 0.0)
        self._base.set(np.array(base, np.float64), blend_s)
        self._auto.set(1.0 if mode == "auto" else 0.0, blend_s)

    def _start_blink(self) -> None:
        rng = self._rng
        self._blink_t = 0.0
        self._blink_shape = (float(rng.uniform(0.045, 0.065)), float(rng.uniform(0.0, 0.02)),
                             float(rng.uniform(0.07, 0.10)))
        self._progress = 0.0
        self._threshold = self._draw_threshold()
        self.blinks += 1

    def _blink_value(self, dt_s: float) -> float:
        if self._blink_t < 0.0:
            return 0.0
        self._blink_t += dt_s
        close_s, hold_s, open_s = self._blink_shape
        t = self._blink_t
        if t < close_s:
            return math.sin(0.5 * math.pi * t / close_s)  # fast, accelerating lid fall
        if t < close_s + hold_s:
            return 1.0
        u = (t - close_s - hold_s) / open_s
        if u < 1.0:
            return 1.0 - u * u * (3.0 - 2.0 * u)
        self._blink_t = -1.0
        if self._rng.uniform() < _DOUBLE_BLINK_P:
            self._double_in = float(self._rng.uniform(0.04, 0.12))
        return 0.0

    def step(self, dt_s: float, speaking: bool = False, phrase_start: bool = False, boundary: bool = False,
             head_pitch_deg: float = 0.0, head_yaw_deg: float = 0.0,
             blink_rate_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        rng = self._rng
        rate = BLINK_RATE_PER_MIN["speaking" if speaking else "idle"] * max(blink_rate_scale, 0.0) / 60.0
        self._progress += rate * dt_s
        if self._blink_t < 0.0:
            if self._double_in >= 0.0:
                self._double_in -= dt_s
                if self._double_in < 0.0:
                    self._start_blink()
            elif self._progress >= self._threshold:
                self._start_blink()
            elif (phrase_start or boundary) and self._progress > _EVENT_MIN_PROGRESS and rng.uniform() < _EVENT_BLINK_P:
                self._start_blink()
        blink = self._blink_value(dt_s)

        # look-aways (auto): a new fixation every 1-3.5 s or at a boundary; look-aways are short
        self._wander_in -= dt_s
        if self._wander_in <= 0.0 or (boundary and rng.uniform() < 0.5):
            away = np.abs(self._wander).max() < 2.0 and rng.uniform() < 0.45
            if away:  # a brief look aside (mostly sideways or down), then back to the lens
                side = rng.choice((-1.0, 1.0))
                self._wander = np.array([side * rng.uniform(2.5, 6.0), rng.uniform(-1.5, 4.0)])
                self._wander_in = float(rng.uniform(0.5, 1.5))
            else:
                self._wander = rng.normal(0.0, 0.6, 2)
                self._wander_in = float(rng.uniform(1.0, 3.5) if speaking else rng.uniform(1.5, 5.0))
        self._micro_in -= dt_s
        if self._micro_in <= 0.0:
            ang = rng.uniform(0.0, 2.0 * math.pi)
            self._micro = rng.uniform(0.2, 1.0) * np.array([math.cos(ang), math.sin(ang)])
            self._micro_in = float(rng.uniform(0.5, 2.0))

        auto = float(self._auto.step(dt_s))
        world = self._base.step(dt_s) + auto * self._wander + self._micro
        vor = 1.0 - 0.4 * auto
        target = world - vor * np.array([head_yaw_deg, head_pitch_deg])
        target[1] += 2.0 * blink  # the eyes dip during a blink
        yaw, pitch = np.clip(self._eye.step(np.clip(target, -EYE_LIMIT_DEG, EYE_LIMIT_DEG), dt_s),
                             -EYE_LIMIT_DEG, EYE_LIMIT_DEG)
        gaze = np.array([yaw, pitch, yaw, pitch])

        out = np.zeros(len(BLENDSHAPE_NAMES))
        for name, value in gaze_to_blendshapes(gaze).items():
            out[_BS[name]] = value
        lid = 0.25 * min(max(pitch, 0.0) / EYE_PITCH_FULL_DEG, 1.0)
        wide = 0.2 * min(max(-pitch, 0.0) / EYE_PITCH_FULL_DEG, 1.0)
        for side in ("Left", "Right"):
            out[_BS["eyeBlink" + side]] = max(blink, lid)
            out[_BS["eyeWide" + side]] = wide * (1.0 - blink)
        return np.clip(out, 0.0, 1.0), gaze
