"""Smoothing landmarks: the One-Euro filter (Casiez, Roussel & Vogel, CHI 2012), steady when
still, no lag when moving; a face's place and its shape smoothed apart, and the eyelids and
irises let go when the eyes blink or glance."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
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

    @property
    def speed(self) -> np.ndarray | None:
        """The smoothed speed (per second) found at the last call; None before the first."""
        return self._speed

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
_MOVING_FLOOR = 0.3
"""A face's place moving faster than this (face heights per second, as its filter reads its
speed: about a pixel a frame on a 100 px face) is let go: see :func:`_moving`."""
_MOVING_HZ = 40.0
"""Cutoff added to the place per face height per second beyond :data:`_MOVING_FLOOR`."""
_SHAPE_CUTOFF_HZ, _SHAPE_BETA = 0.35, 8.0
_SPEED_CUTOFF_HZ = 2.0
"""The place's and the shape's speeds are smoothed at this cutoff, not One-Euro's usual 1 Hz, so
their cutoffs rise sooner: a syllable's lips (a mouth opening by 10% of the face and shutting over
4 frames was followed to 74% of its depth and was still 41% open the frame after it shut; now 82%
and 27%), and a new face already moving (8 px a frame: 6.0 px behind on its third frame, now
2.8). The stability benchmark's faces keep as still (R within 0.013 either way, the means within
0.002)."""
_LIDS_RINGS = 2
"""The landmarks that move when an eye closes: its rim and those within this many edges of it."""
_EYES_HZ = 15.0
"""Cutoff added to the landmarks an eye's motion moves, per unit of its speed (per second)."""
_EYES_FLOOR = 0.3
"""Speed (per second), once smoothed, that an eye's motion needs before its landmarks are let go,
at least: on the stability benchmark's still and drifting faces (sensor noise σ 3) they stay
smoothed as before. A noisier face's floor is its own noise (:data:`_EYES_NOISE_RATE`)."""
_EYES_NOISE_RATE = 0.05
"""A motion's noise is the mean of its unsmoothed speed over a track's first 20 frames (when it
lets no landmark go: a few frames' mean is too low as often as not), then moves this share of the
way to each quiet frame's (taken at most 2x the noise)."""
_EYES_SPEED_CUTOFF_HZ = 3.0
"""A motion's speed is smoothed at this cutoff: a blink lasts 4-8 frames at 30 fps."""


def aperture(points: np.ndarray) -> float:
    """How open a loop of (x, y) points is: its short axis over its long one (an open eye's rim
    0.25-0.4), whatever the face's size and roll."""
    spread = np.cov(points, rowvar=False, bias=True)
    small, large = np.linalg.eigvalsh(spread)
    return float(np.sqrt(max(small, 0.0) / max(large, 1e-12)))


@dataclass(frozen=True)
class _EyeMotion:
    """Something an eye does in a few frames, read from the landmarks as a vector, and the
    landmarks it moves."""

    read: Callable[[np.ndarray], np.ndarray]
    moves: np.ndarray


def _blink(rim: list[int]) -> _EyeMotion:
    """An eye opening or closing: its rim's aperture; it moves the lids round the rim."""
    index = np.array(rim)
    return _EyeMotion(lambda p: np.array([aperture(p[index, :2])]), np.array(around(rim, _LIDS_RINGS)))


def _gaze(iris: int, corners: tuple[int, int]) -> _EyeMotion:
    """An eye looking elsewhere: its iris's centre from the middle of its corners, in eye widths;
    it moves the iris (its centre and ring)."""

    def read(p: np.ndarray) -> np.ndarray:
        inner, outer = p[corners[0], :2], p[corners[1], :2]
        return (p[iris, :2] - (inner + outer) / 2) / max(float(np.linalg.norm(outer - inner)), 1e-6)

    return _EyeMotion(read, np.arange(iris, iris + 5))


_EYE_MOTIONS = [
    _blink(LEFT_EYE_HOLE),
    _blink(RIGHT_EYE_HOLE),
    _gaze(LEFT_IRIS, (133, 33)),
    _gaze(RIGHT_IRIS, (362, 263)),
]


class EyeFollower:
    """Extra cutoff for the landmarks an eye moves while it blinks or looks elsewhere.

    A blink shuts the eyelids in 2-3 frames at 30 fps and opens them again in 3-4; a glance moves
    the irises in 1-2. The shape's cutoff rises with each landmark's own speed, but a lid or an
    iris moves a few pixels, and that speed, itself smoothed, has hardly risen before the motion is
    over: on the demo clip the smoothed eyes closed two thirds as far as the mesh saw them close,
    and opened 6 frames after it saw them open; a glance by 15% of an eye's width was 79% behind
    on its frame and 41% two frames on. An eye's aperture (:func:`aperture` of its
    rim) changes by 0.05-0.07 a frame in a blink, and its iris by 0.15 eye widths in such a
    glance; on a still face by what the landmarks' noise moves them: 0.003-0.008 and 0.003-0.011 a
    frame under sensor noise of σ 3 on a 150 px face, the aperture 0.02-0.03 on a 60-160 px face in
    a noisier, JPEG-compressed frame. A motion's speed beyond that noise (and
    :data:`_EYES_FLOOR`) lets its landmarks go, so a noisy face's are not let go by their own
    jitter."""

    def __init__(self) -> None:
        self._values: list[np.ndarray] | None = None
        self._speeds: list[np.ndarray] = []
        self._noise = np.zeros(len(_EYE_MOTIONS))
        self._heard = 0
        self._time_s = 0.0

    def __call__(self, landmarks: np.ndarray, time_s: float) -> np.ndarray:
        """(N, 1) cutoff in Hz to add for ``landmarks`` (the face mesh's) at ``time_s``."""
        values = [motion.read(landmarks) for motion in _EYE_MOTIONS]
        more = np.zeros((len(landmarks), 1))
        dt = time_s - self._time_s
        if self._values is None:
            self._speeds = [np.zeros_like(value) for value in values]
        elif dt > 0:
            raw = [(now - before) / dt for now, before in zip(values, self._values, strict=True)]
            alpha = _alpha(dt, _EYES_SPEED_CUTOFF_HZ)
            self._speeds = [s + alpha * (r - s) for s, r in zip(self._speeds, raw, strict=True)]
            speeds = np.array([np.linalg.norm(s) for s in self._speeds])
            floors = np.maximum(self._noise, _EYES_FLOOR)
            self._listen(np.array([np.linalg.norm(r) for r in raw]), quiet=speeds <= floors)
            known = self._heard >= 1 / _EYES_NOISE_RATE
            for motion, speed, floor in zip(_EYE_MOTIONS, speeds, floors, strict=True):
                if known:
                    more[motion.moves] = np.maximum(more[motion.moves], _EYES_HZ * max(0.0, speed - floor))
        self._values, self._time_s = values, time_s
        return more

    def _listen(self, speeds: np.ndarray, quiet: np.ndarray) -> None:
        """Learn each motion's noise from its unsmoothed ``speeds``: over a track's first frames
        from all of them, then from those where it is ``quiet`` (its landmarks not let go: a
        blink is not noise). A head's turn or nod, which opens or narrows the eyes as seen,
        counts too: their lids then need more to be let go."""
        self._heard += 1
        if self._heard < 1 / _EYES_NOISE_RATE:  # the mean of the frames so far
            self._noise += (speeds - self._noise) / self._heard
        else:
            heard = np.minimum(speeds, 2 * self._noise)
            self._noise += np.where(quiet, _EYES_NOISE_RATE * (heard - self._noise), 0.0)


def _moving(speed: np.ndarray | None, scale: float) -> float:
    """Cutoff to add to the place of a face whose filter reads ``speed`` (its place's, per
    second; the face ``scale`` high). The place's own speed term is kept low (beta 2) so that a
    face drifting a fraction of a pixel a frame does not shake; it left a head moving 2 px a frame
    2.7 px behind and one moving 8 px a frame 4.8 px (a 108 px face; the swap trails the head it
    covers). Beyond about a pixel a frame the place is let go: 0.5 and 0.4 px behind, and the
    still, drifting and nodding faces of the stability benchmark as before."""
    if speed is None:
        return 0.0
    return _MOVING_HZ * max(0.0, float(np.linalg.norm(speed[:2])) / scale - _MOVING_FLOOR)


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
    follow a blink, the irises a glance (:class:`EyeFollower`)."""

    def __init__(self) -> None:
        self._place = OneEuroFilter(_PLACE_CUTOFF_HZ, _PLACE_BETA, _SPEED_CUTOFF_HZ)
        self._shape = OneEuroFilter(_SHAPE_CUTOFF_HZ, _SHAPE_BETA, _SPEED_CUTOFF_HZ)
        self._eyes = EyeFollower()
        self._carried: np.ndarray | None = None

    def __call__(
        self, landmarks: np.ndarray, time_s: float, scale: float = 1.0, moved: np.ndarray | None = None
    ) -> np.ndarray:
        """The face mesh's (478, D) ``landmarks`` at ``time_s``, smoothed; speeds divided by
        ``scale`` (the face's size). ``moved``: how far the face's pixels moved since the last
        call (:class:`rtswap.track.motion.ImageMotion`), or None where that is not known."""
        place = landmarks.mean(axis=0)
        if self._carried is None:
            self._carried = np.zeros_like(place)
        if moved is not None:  # the place is smoothed where the pixels' motion leaves it
            self._carried[:2] += moved
        more = self._eyes(landmarks, time_s)
        moving = _moving(self._place.speed, scale)
        placed = self._carried + self._place(place - self._carried, time_s, scale, moving)
        return placed + self._shape(landmarks - place, time_s, scale, more)
