"""The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012): steady when still, no lag when moving."""

from __future__ import annotations

import math

import numpy as np


def _alpha(dt_s: float, cutoff_hz: np.ndarray | float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    """Low-pass filter whose cutoff rises with speed, applied per element of an array.

    ``min_cutoff_hz`` sets the smoothing of a still signal (lower: steadier); ``beta`` how fast
    the cutoff rises with speed (higher: less lag). Speeds are divided by the ``scale`` passed to
    each call, so one setting works for faces of any size.
    """

    def __init__(self, min_cutoff_hz: float = 1.0, beta: float = 1.0, d_cutoff_hz: float = 1.0) -> None:
        self.min_cutoff_hz, self.beta, self.d_cutoff_hz = min_cutoff_hz, beta, d_cutoff_hz
        self._value: np.ndarray | None = None
        self._speed: np.ndarray | None = None
        self._time_s = 0.0

    def __call__(self, value: np.ndarray, time_s: float, scale: float = 1.0) -> np.ndarray:
        if self._value is None or self._speed is None:
            self._value, self._speed, self._time_s = value.copy(), np.zeros_like(value), time_s
            return value
        dt = time_s - self._time_s
        if dt <= 0:
            return self._value
        speed = (value - self._value) / dt
        self._speed = self._speed + _alpha(dt, self.d_cutoff_hz) * (speed - self._speed)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed) / scale
        self._value = self._value + _alpha(dt, cutoff) * (value - self._value)
        self._time_s = time_s
        return self._value
