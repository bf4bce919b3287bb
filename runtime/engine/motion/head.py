"""Voice-driven head pose: nods on accents, posture shifts at phrase boundaries, drift, breathing.

`HeadModel.step(dt_s, speaking, loudness, accent_strength, boundary) -> (6,)` in HEAD_FIELDS order
(pitch/yaw/roll degrees, x/y/z metres; signs as in facecast.bridge.schema: pitch > 0 chin down).

What moves the head, all seeded and streaming:
- drift: low-pass filtered noise on the three angles (a second-order Ornstein-Uhlenbeck process), its
  amplitude following a smoothed speaking level, so the head is calmer in silence than in speech;
- nods: each accent kicks a smooth pitch bell (chin down, peak ~0.16 s after the report, ~0.27 s wide), with a
  small random yaw/roll share; strength scales the nod;
- posture shifts: at a phrase boundary the head settles to a new slight yaw/roll offset, and in long silences
  it drifts back towards centre;
- breathing: a ~0.25 Hz rise and fall of pitch and y (~0.3 deg, ~1.5 mm), present all the time;
- loudness: speech level lifts the chin slightly (up to 1.2 deg of -pitch).

`amplitude` (0..2) scales all voice-driven motion; `style` picks a preset (STYLES); `energy` is a multiplier
the emotion model sets (sad 0.6, angry 1.3, ...).

Override (control `set_head`): mode "add" offsets the voice-driven angles, "absolute" replaces them (the head
holds the commanded pose), "off" clears the override (distance back to 1); every change blends over blend_s
with a smoothstep. `distance` is a zoom factor, 2 = the face twice as large on screen. Under a pinhole camera
the on-screen size goes as 1/depth, so with the portrait taken from NOMINAL_CAMERA_DISTANCE_M the head moves
towards the camera by z_m = D * (1 - 1 / distance): distance 2 -> z_m = +0.30 m, 0.5 -> -0.60 m, 1 -> 0.
"""

from __future__ import annotations

import math

import numpy as np

from .filters import Ramp, Spring

NOMINAL_CAMERA_DISTANCE_M = 0.6  # assumed portrait camera distance; z_m = D * (1 - 1 / distance)
HEAD_MODES = ("add", "absolute", "off")

# name: (drift_deg (pitch, yaw, roll) std while speaking, drift time constant s, nod_deg at strength 1,
#        idle share of the drift amplitude, posture shift deg (yaw, roll))
STYLES: dict[str, dict] = {
    "calm": {"drift_deg": (1.2, 1.8, 1.0), "drift_s": 0.9, "nod_deg": 2.5, "idle": 0.35, "shift_deg": (2.0, 1.5)},
    "normal": {"drift_deg": (1.6, 2.5, 1.4), "drift_s": 0.7, "nod_deg": 3.5, "idle": 0.35, "shift_deg": (3.0, 2.0)},
    "lively": {"drift_deg": (2.2, 3.5, 2.0), "drift_s": 0.5, "nod_deg": 5.0, "idle": 0.4, "shift_deg": (4.5, 3.0)},
}
_BREATH_HZ = 0.25
_BREATH_PITCH_DEG = 0.3
_BREATH_Y_M = 0.0015
_LOUD_PITCH_DEG = 1.2  # chin lift at full loudness
# A nod: an accent kicks a drive that decays (tau _NOD_DRIVE_S), and a critically damped spring follows it:
# a smooth bell peaking ~0.16 s after the kick, ~0.27 s wide at half height, no velocity jump.
_NOD_DRIVE_S = 0.10
_NOD_PERIOD_S = 0.07
_NOD_DRIVE_GAIN = 1.0 / 0.3357  # 1 / peak of the spring's response to a unit drive kick (computed offline)
_NOD_SIDE_SHARE = 0.25  # yaw/roll part of a nod, relative to its pitch
_ACTIVITY_RISE_S, _ACTIVITY_FALL_S = 0.3, 1.5


def distance_to_z_m(distance: float) -> float:
    """Zoom factor (on-screen size ratio) -> z_m translation towards the camera; see the module docstring."""
    return NOMINAL_CAMERA_DISTANCE_M * (1.0 - 1.0 / distance)


class HeadModel:
    """Seeded, streaming head motion; see the module docstring."""

    def __init__(self, seed: int | np.random.SeedSequence = 0, amplitude: float = 1.0, style: str = "calm") -> None:
        self._rng = np.random.default_rng(seed)
        self.amplitude = amplitude
        self.style = style
        self.energy = 1.0  # emotion's head energy multiplier
        self.pitch_bias_deg = 0.0  # emotion's posture (sad: chin down), not scaled by amplitude
        self._ou = np.zeros((2, 3))  # two cascaded OU stages per angle: smooth, band-limited drift
        self._activity = 0.0
        self._nod = Spring(3, _NOD_PERIOD_S)
        self._nod_drive = np.zeros(3)
        self._posture = Spring(2, 0.6)
        self._posture_target = np.zeros(2)
        self._silence_s = 0.0
        self._breath_phase = float(self._rng.uniform(0, 2 * math.pi))
        self._breath_hz = _BREATH_HZ * float(self._rng.uniform(0.85, 1.15))
        self._loud = 0.0
        self._add = Ramp(np.zeros(3))
        self._abs_pose = Ramp(np.zeros(3))
        self._abs_weight = Ramp(0.0)
        self._log_distance = Ramp(0.0)

    @property
    def amplitude(self) -> float:
        return self._amplitude

    @amplitude.setter
    def amplitude(self, value: float) -> None:
        if not 0.0 <= value <= 2.0:
            raise ValueError(f"head amplitude {value} outside 0..2 (1 = default, 0 = still)")
        self._amplitude = float(value)

    @property
    def style(self) -> str:
        return self._style

    @style.setter
    def style(self, value: str) -> None:
        if value not in STYLES:
            raise ValueError(f"head style {value!r} unknown; use one of {list(STYLES)}")
        self._style = value

    def set_override(self, mode: str = "add", pitch_deg: float = 0.0, yaw_deg: float = 0.0,
                     roll_deg: float = 0.0, distance: float = 1.0, blend_s: float = 0.3) -> None:
        """Control `set_head`: see the module docstring. Arguments as in bridge.commands (validated there)."""
        if mode not in HEAD_MODES:
            raise ValueError(f"head mode {mode!r} unknown; use one of {list(HEAD_MODES)}")
        if not 0.25 <= distance <= 4.0:
            raise ValueError(f"distance {distance} outside 0.25..4 (zoom factor, 1 = as in the portrait)")
        pose = np.array([pitch_deg, yaw_deg, roll_deg], np.float64)
        if mode == "add":
            self._add.set(pose, blend_s)
            self._abs_weight.set(0.0, blend_s)
        elif mode == "absolute":
            # from a voice-driven head the weight ramp does the blend; between absolute poses, ramp the pose
            self._abs_pose.set(pose, blend_s if float(self._abs_weight.value) > 0.0 else 0.0)
            self._abs_weight.set(1.0, blend_s)
            self._add.set(np.zeros(3), blend_s)
        else:
            self._add.set(np.zeros(3), blend_s)
            self._abs_weight.set(0.0, blend_s)
            distance = 1.0
        self._log_distance.set(math.log(distance), blend_s)

    def step(self, dt_s: float, speaking: bool = False, loudness: float = 0.0, accent_strength: float = 0.0,
             boundary: bool = False) -> np.ndarray:
        st = STYLES[self._style]
        rng = self._rng
        gain = self._amplitude * self.energy
        tau = _ACTIVITY_RISE_S if speaking else _ACTIVITY_FALL_S
        self._activity += (1.0 - math.exp(-dt_s / tau)) * (float(speaking) - self._activity)
        level = st["idle"] + (1.0 - st["idle"]) * self._activity

        # drift: two cascaded OU stages (smoother than one: no velocity jumps), output std ~1 before scaling
        a = math.exp(-dt_s / st["drift_s"])
        noise = rng.standard_normal(3) * math.sqrt(1.0 - a * a)
        self._ou[0] = a * self._ou[0] + noise
        self._ou[1] = a * self._ou[1] + (1.0 - a) * self._ou[0] * math.sqrt(2.0)  # std ~1 for drift_s >> dt_s
        drift = self._ou[1] * np.asarray(st["drift_deg"]) * level

        # nods on accents
        s = float(np.clip(accent_strength, 0.0, 1.0))
        if s > 0.0 and speaking:
            side = rng.uniform(-1.0, 1.0, 2) * _NOD_SIDE_SHARE
            self._nod_drive += _NOD_DRIVE_GAIN * st["nod_deg"] * s * np.array([1.0, side[0], side[1]])
        self._nod_drive *= math.exp(-dt_s / _NOD_DRIVE_S)
        nod = self._nod.step(self._nod_drive, dt_s)

        # posture: new resting offset at each phrase boundary, back to centre after long silence
        self._silence_s = 0.0 if speaking else self._silence_s + dt_s
        if boundary:
            self._posture_target = rng.uniform(-1.0, 1.0, 2) * np.asarray(st["shift_deg"])
        elif self._silence_s > 3.0:
            self._posture_target *= math.exp(-dt_s / 2.0)
        posture = self._posture.step(self._posture_target, dt_s)

        self._loud += (1.0 - math.exp(-dt_s / 0.25)) * (float(np.clip(loudness, 0, 1)) * speaking - self._loud)
        self._breath_phase += 2 * math.pi * self._breath_hz * dt_s
        breath = math.sin(self._breath_phase)

        angles = drift + nod
        angles[0] += -_LOUD_PITCH_DEG * self._loud
        angles[1:] += posture
        angles *= gain
        angles[0] += self.pitch_bias_deg
        angles[0] += _BREATH_PITCH_DEG * breath * min(self._amplitude, 1.0)  # breathing is not "voice energy"
        trans = np.array([0.004 * drift[1] / 3.0 * gain, _BREATH_Y_M * breath * min(self._amplitude, 1.0), 0.0])

        # override: add offset, then cross-fade to the absolute pose
        w = float(self._abs_weight.step(dt_s))
        angles = (1.0 - w) * (angles + self._add.step(dt_s)) + w * self._abs_pose.step(dt_s)
        trans[:2] *= 1.0 - w
        trans[2] = distance_to_z_m(math.exp(float(self._log_distance.step(dt_s))))
        return np.concatenate([angles, trans])
