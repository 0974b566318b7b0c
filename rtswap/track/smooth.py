"""Smoothing landmarks: the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012), steady when
still, no lag when moving; a face's place and its shape smoothed apart, and the eyelids let go
when the eyes open or close fast (a blink)."""

from __future__ import annotations

import math

import numpy as np

from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE, around


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

    def __call__(
        self, value: np.ndarray, time_s: float, scale: float = 1.0, more_hz: np.ndarray | float = 0.0
    ) -> np.ndarray:
        """``value`` at ``time_s``, smoothed; ``more_hz`` is added to the cutoff (per element or all)."""
        if self._value is None or self._speed is None:
            self._value, self._speed, self._time_s = value.copy(), np.zeros_like(value), time_s
            return value
        dt = time_s - self._time_s
        if dt <= 0:
            return self._value
        speed = (value - self._value) / dt
        self._speed = self._speed + _alpha(dt, self.d_cutoff_hz) * (speed - self._speed)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._speed) / scale + more_hz
        self._value = self._value + _alpha(dt, cutoff) * (value - self._value)
        self._time_s = time_s
        return self._value


_PLACE_CUTOFF_HZ, _PLACE_BETA = 1.0, 2.0
_SHAPE_CUTOFF_HZ, _SHAPE_BETA = 0.35, 8.0
_LIDS_RINGS = 2
"""The landmarks that move when an eye closes: its rim and those within this many edges of it."""
_BLINK_HZ = 15.0
"""Cutoff added to the landmarks around an eye per unit of its aperture's speed (per second)."""
_BLINK_FLOOR = 0.3
"""Aperture speed (per second), once smoothed, that the lids need before they are let go, at
least: on the stability benchmark's still and drifting faces (sensor noise σ 3) they stay
smoothed as before. A noisier face's floor is its own noise (:data:`_BLINK_NOISE_RATE`)."""
_BLINK_NOISE_RATE = 0.05
"""An eye's noise is the mean of its aperture's unsmoothed speed over a track's first 20 frames,
then moves this share of the way to each quiet frame's (taken at most 2x the noise)."""
_BLINK_SPEED_CUTOFF_HZ = 3.0
"""An eye's aperture's speed is smoothed at this cutoff: a blink lasts 4-8 frames at 30 fps."""
_EYES = [np.array(loop) for loop in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE)]
_LIDS = [np.array(around(loop, _LIDS_RINGS)) for loop in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE)]


def aperture(points: np.ndarray) -> float:
    """How open a loop of (x, y) points is: its short axis over its long one (an open eye's rim
    0.25-0.4), whatever the face's size and roll."""
    spread = np.cov(points, rowvar=False, bias=True)
    small, large = np.linalg.eigvalsh(spread)
    return float(np.sqrt(max(small, 0.0) / max(large, 1e-12)))


class BlinkFollower:
    """Extra cutoff for the landmarks around each eye while it opens or closes fast.

    A blink shuts the eyelids in 2-3 frames at 30 fps and opens them again in 3-4. The shape's
    cutoff rises with each landmark's own speed, but a lid's landmarks move a few pixels, and
    that speed, itself smoothed, has hardly risen before the blink is over: on the demo clip the
    smoothed eyes closed two thirds as far as the mesh saw them close, and opened 6 frames after
    it saw them open. An eye's aperture (:func:`aperture` of its rim) changes by
    0.05-0.07 a frame in a blink, and on a still face by what the landmarks' noise moves it:
    0.003-0.008 a frame under sensor noise of σ 3 on a 150 px face, 0.02-0.03 on a 60-160 px face
    in a noisier, JPEG-compressed frame. Its speed beyond that noise (and :data:`_BLINK_FLOOR`) lets the
    lids go, so a noisy face's lids are not let go by their own jitter."""

    def __init__(self) -> None:
        self._apertures: np.ndarray | None = None
        self._speeds = np.zeros(2)
        self._noise = np.zeros(2)
        self._heard = 0
        self._time_s = 0.0

    def __call__(self, landmarks: np.ndarray, time_s: float) -> np.ndarray:
        """(N, 1) cutoff in Hz to add for ``landmarks`` (the face mesh's) at ``time_s``."""
        apertures = np.array([aperture(landmarks[eye, :2]) for eye in _EYES])
        more = np.zeros((len(landmarks), 1))
        dt = time_s - self._time_s
        if self._apertures is not None and dt > 0:
            speeds = (apertures - self._apertures) / dt
            self._speeds += _alpha(dt, _BLINK_SPEED_CUTOFF_HZ) * (speeds - self._speeds)
            floors = np.maximum(self._noise, _BLINK_FLOOR)
            self._listen(speeds, quiet=np.abs(self._speeds) <= floors)
            for lids, speed, floor in zip(_LIDS, np.abs(self._speeds), floors, strict=True):
                more[lids] = _BLINK_HZ * max(0.0, speed - floor)
        self._apertures, self._time_s = apertures, time_s
        return more

    def _listen(self, speeds: np.ndarray, quiet: np.ndarray) -> None:
        """Learn each eye's noise from its aperture's unsmoothed ``speeds``: over a track's first
        frames from all of them, then from those where the eye is ``quiet`` (its lids not let go:
        a blink is not noise). A head's turn or nod, which opens or narrows the eyes as seen,
        counts too: their lids then need more to be let go."""
        self._heard += 1
        if self._heard < 1 / _BLINK_NOISE_RATE:  # the mean of the frames so far
            self._noise += (np.abs(speeds) - self._noise) / self._heard
        else:
            heard = np.minimum(np.abs(speeds), 2 * self._noise)
            self._noise += np.where(quiet, _BLINK_NOISE_RATE * (heard - self._noise), 0.0)


class LandmarkSmoother:
    """A face's landmarks smoothed as where the face is (their mean) and its shape (each landmark
    from the mean), each by its own One-Euro filter.

    A face that moves carries every landmark with it: one filter per coordinate would see each
    landmark move and smooth them all less (its cutoff rises with speed), and the mesh's jitter
    in the face's shape would come through whenever the head drifts. Apart, the shape keeps still
    while the face moves and is smoothed as a still face's is (at a lower cutoff than the place:
    the mean of 478 landmarks hardly jitters, the shape does), and an expression or a turn moves the
    shape and its filter's cutoff rises steeply with it: on a mouth opening by 5-10% of the face in
    0.1-0.3 s it lags 15-30% less than one filter per coordinate (1 Hz, beta 2), and on a face
    drifting 0.25 px a frame with 0.2 px of landmark noise it passes 0.4x the jitter. The eyelids
    follow a blink (:class:`BlinkFollower`)."""

    def __init__(self) -> None:
        self._place = OneEuroFilter(_PLACE_CUTOFF_HZ, _PLACE_BETA)
        self._shape = OneEuroFilter(_SHAPE_CUTOFF_HZ, _SHAPE_BETA)
        self._blinks = BlinkFollower()

    def __call__(self, landmarks: np.ndarray, time_s: float, scale: float = 1.0) -> np.ndarray:
        """The face mesh's (478, D) ``landmarks`` at ``time_s``, smoothed; speeds divided by
        ``scale`` (the face's size)."""
        place = landmarks.mean(axis=0)
        more = self._blinks(landmarks, time_s)
        return self._place(place, time_s, scale) + self._shape(landmarks - place, time_s, scale, more)
