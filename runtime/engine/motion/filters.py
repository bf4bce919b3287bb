"""Small streaming filters the motion models share: asymmetric one-pole smoothing and timed ramps.

All are deterministic, carry their state between calls and take the elapsed time `dt_s` of each step, so a
model gives the same curve at any frame rate (up to sampling).
"""

from __future__ import annotations

import math

import numpy as np


class AsymmetricSmoother:
    """One-pole low-pass per channel with separate rise (attack) and fall (release) time constants.

    attack_s, release_s: (C,) or scalar time constants in seconds; 0 passes the target through. Rising
    channels (target above the current value) use attack_s, falling ones release_s. This is what gives
    coarticulation its asymmetry: a lip rounding that arrives slowly lingers into the next phones.
    """

    def __init__(self, n_channels: int, attack_s, release_s, initial: float = 0.0) -> None:
        self.attack_s = np.broadcast_to(np.asarray(attack_s, np.float64), (n_channels,)).copy()
        self.release_s = np.broadcast_to(np.asarray(release_s, np.float64), (n_channels,)).copy()
        self.value = np.full(n_channels, float(initial))

    def step(self, target: np.ndarray, dt_s: float) -> np.ndarray:
        tau = np.where(target > self.value, self.attack_s, self.release_s)
        # exact discretisation of dx/dt = (target - x) / tau for a held target: rate independent
        alpha = 1.0 - np.exp(-dt_s / np.maximum(tau, 1e-6))
        self.value = self.value + alpha * (target - self.value)
        return self.value


class Ramp:
    """A value that moves to a new target along a smoothstep curve over exactly `duration_s`.

    Its largest per-step change is 1.5 * |jump| * dt_s / duration_s, so callers can bound frame-to-frame
    steps; duration_s = 0 jumps at once. Works on scalars and arrays alike.
    """

    def __init__(self, value) -> None:
        self.value = np.array(value, np.float64)
        self._start = self.value.copy()
        self.target = self.value.copy()
        self._elapsed_s = 0.0
        self._duration_s = 0.0

    def set(self, target, duration_s: float) -> None:
        self._start = self.value.copy()
        self.target = np.array(target, np.float64)
        self._elapsed_s = 0.0
        self._duration_s = max(float(duration_s), 0.0)
        if self._duration_s == 0.0:
            self.value = self.target.copy()

    def step(self, dt_s: float) -> np.ndarray:
        if self._duration_s > 0.0 and self._elapsed_s < self._duration_s:
            self._elapsed_s = min(self._elapsed_s + dt_s, self._duration_s)
            u = self._elapsed_s / self._duration_s
            s = u * u * (3.0 - 2.0 * u)
            self.value = self._start + s * (self.target - self._start)
        else:
            self.value = self.target.copy()
        return self.value

    @property
    def done(self) -> bool:
        return self._duration_s == 0.0 or self._elapsed_s >= self._duration_s


class Spring:
    """Critically damped second-order system per channel: x'' = w^2 (target - x) - 2 w x'.

    No overshoot; integrated exactly for a target held over the step, so stable at any dt.
    """

    def __init__(self, n_channels: int, period_s: float) -> None:
        self.omega = 1.0 / max(period_s, 1e-3)
        self.x = np.zeros(n_channels)
        self.v = np.zeros(n_channels)

    def step(self, target, dt_s: float) -> np.ndarray:
        w = self.omega
        y0 = self.x - target
        v0 = self.v
        e = math.exp(-w * dt_s)
        c = v0 + w * y0
        self.x = target + (y0 + c * dt_s) * e
        self.v = (v0 - w * c * dt_s) * e
        return self.x
