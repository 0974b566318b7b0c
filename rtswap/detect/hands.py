"""Hands in a frame: a hand over a face stays on top of the swap whatever its colour
(:mod:`rtswap.blend.occluders.skin` finds hands by colour only, so it misses one of the face's own
tone; :mod:`rtswap.blend.occluders.hands` draws what is found into the face crops).

mediapipe's palm detector and hand-landmark model (both ship in the ``mediapipe==0.10.21`` wheel,
run by its CPU graph) give 21 points per hand. A look costs about as much as the face mesh
(docs/speed.md), so a stream looks for hands on every ``HANDS_EVERY``-th frame (more often while a
hand is in view) and keeps them in between (:class:`HandWatch`), less often when the governor
steps down.

How it fails: the palm detector needs most of the palm in view (a hand seen edge-on, or a fist
pressed to the cheek, is often not found); a hand that comes in is found up to ``HANDS_EVERY``
frames late; one that turns back or stops is covered, until the next look, where it was heading;
the silhouette is a hand's, not a held object's (a phone, a cup).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from rtswap.background import Background

HANDS_EVERY = 6
"""A stream looks for hands on every this many frames (200 ms at 30 fps); a look costs the same
whatever the frame's size (the palm detector's input is 192 px)..."""
HANDS_IN_VIEW_EVERY = 3
"""...and on every this many while its last look found a hand, which is moved on between looks
as it moved since the look before, for at most this many frames (:data:`_AHEAD_AT_MOST`). A hand
of Grace Hopper's own tone waving across her face (``benchmarks/hand_sweep.py``, up to 19 px a
frame at 720p) was painted over on 79 of 210 frames with a look on every 6th frame and the hand
kept where it was, on 28 with a look on every 3rd and the hand moved on, on 13 on every 2nd, which
cost live latency on two cores (docs/quality.md, "Hands")."""
_AHEAD_AT_MOST = HANDS_IN_VIEW_EVERY
_MAX_SIDE = 640
"""Frames are looked at at most this wide or tall: the palm detector sees 192 px anyway."""


class HandFinder:
    """Up to two hands per image. Not thread-safe: one per thread."""

    def __init__(self) -> None:
        import mediapipe as mp

        from rtswap.detect.base import quiet_stderr

        with quiet_stderr():  # mediapipe's C++ side logs setup notices straight to fd 2
            self._graph = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=2, model_complexity=0, min_detection_confidence=0.5
            )
            self._graph.process(np.zeros((64, 64, 3), np.uint8))

    def close(self) -> None:
        self._graph.close()

    def find(self, image: np.ndarray) -> list[np.ndarray]:
        """(21, 2) float32 landmarks of each hand in ``image`` (HxWx3 uint8 RGB), in its pixels."""
        height, width = image.shape[:2]
        scale = min(1.0, _MAX_SIDE / max(height, width))
        if scale < 1:
            image = cv2.resize(
                image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
            )
        found = self._graph.process(np.ascontiguousarray(image)).multi_hand_landmarks or []
        size = np.array([width, height], np.float32)
        return [np.array([(p.x, p.y) for p in hand.landmark], np.float32) * size for hand in found]


class HandWatch:
    """:class:`HandFinder` on a stream's frames: looks on every ``every``-th frame it is given
    (counted here: a live stream's stages see gaps in the frame numbers; every
    :data:`HANDS_IN_VIEW_EVERY`-th while its last look found a hand), and gives the hands it last
    found in between, each moved on as it was moving between the last two looks. With
    ``background`` (live input), the looks run there and their hands are given from the frame they
    are ready on: no frame waits for a look."""

    def __init__(self, every: int = HANDS_EVERY, background: Background | None = None) -> None:
        self.every = every
        self._finder = HandFinder()
        self._last = _Look(0, [], [])
        self._frame = 0
        """The frame being given, counted from the stream's first."""
        self._due = 0
        """Frames to go before the next look."""
        self._background = background
        self.look_times = None if self._background is None else self._background.times
        """The background looks' costs and ages; None without a background."""

    def close(self) -> None:
        if self._background is not None:
            self._background.close()  # before the finder it uses
        self._finder.close()

    def _look(self, image: np.ndarray, frame: int) -> None:
        hands, before = self._finder.find(image), self._last
        self._last = _Look(frame, hands, [_speed(hand, before, frame) for hand in hands])

    def __call__(self, host_image: Callable[[], np.ndarray], slower: int = 1) -> list[np.ndarray]:
        """The hands in a frame, or in the latest frame looked at, moved on. ``host_image`` gives
        the frame's pixels on the host, and is called only when the frame is looked at (a frame on
        the device is copied for it). ``slower``: the next look comes that many times later (the
        governor's ``detect_slower``)."""
        frame = self._frame
        self._frame += 1
        if self._due == 0:
            if self._background is None:
                self._look(host_image(), frame)
            else:
                image = host_image()
                self._background.submit(lambda: self._look(image, frame))
            self._due = (min(self.every, HANDS_IN_VIEW_EVERY) if self._last.hands else self.every) * slower
        self._due -= 1
        last = self._last
        ahead = min(frame - last.frame, _AHEAD_AT_MOST)
        return [
            hand if speed is None else hand + speed * ahead
            for hand, speed in zip(last.hands, last.speeds, strict=True)
        ]


@dataclass(frozen=True)
class _Look:
    frame: int
    """The frame looked at."""
    hands: list[np.ndarray]
    speeds: list[np.ndarray | None]
    """Each hand's points' motion, pixels a frame, since the look before (None: not seen there)."""


def _speed(hand: np.ndarray, before: _Look, frame: int) -> np.ndarray | None:
    """How ``hand`` (21, 2), found on frame ``frame``, was moving, pixels a frame, from the nearest
    hand of the look ``before``, or None if none of them is within a hand's size of it."""
    gap = frame - before.frame
    if gap <= 0 or not before.hands:
        return None
    centre = hand.mean(axis=0)
    near = min(before.hands, key=lambda other: float(np.linalg.norm(other.mean(axis=0) - centre)))
    size = float(np.ptp(hand, axis=0).max())
    if float(np.linalg.norm(near.mean(axis=0) - centre)) > size:
        return None
    return (hand - near) / gap
