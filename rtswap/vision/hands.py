"""Hands in a frame, and their silhouettes in the aligned face crops: a hand over a face stays on
top of the swap whatever its colour (:mod:`rtswap.blend.occluders` finds hands by colour only,
so it misses one of the face's own tone).

mediapipe's palm detector and hand-landmark model (both ship in the ``mediapipe==0.10.21`` wheel,
run by its CPU graph) give 21 points per hand; a silhouette is the palm's hull, each finger's
bones drawn as wide as a finger and a half-width past its tip, and the forearm, a little wider
than the knuckles, from the wrist on away from the fingers (a hand over a face comes with its
arm). A look takes ~13 ms on a 2-core CPU, so a stream looks for hands on every
``HANDS_EVERY``-th frame and keeps them in between (:class:`HandWatch`), less often when the
governor steps down.

How it fails: the palm detector needs most of the palm in view (a hand seen edge-on, or a fist
pressed to the cheek, is often not found); a hand that moves fast is covered where it was up to
``HANDS_EVERY`` frames ago; the silhouette is a hand's, not a held object's (a phone, a cup).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

HANDS_EVERY = 6
"""A stream looks for hands on every this many frames (200 ms at 30 fps): a look costs ~13 ms
on a 2-core CPU, whatever the frame's size (the palm detector's input is 192 px)."""
_MAX_SIDE = 640
"""Frames are looked at at most this wide or tall: the palm detector sees 192 px anyway."""
_PALM = [0, 1, 2, 5, 9, 13, 17]
"""The wrist, the thumb's base and the knuckles."""
_FINGERS = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]
_FINGER_WIDTH = 1.1
"""A finger's width, in knuckle spacings (index to little finger, over three)."""
_FOREARM_LENGTH = 3.0
"""The forearm drawn, in lengths from the wrist to the middle finger's knuckle..."""
_ARM_WIDTH = 1.3
"""...and its width, in spans from the index finger's knuckle to the little finger's."""


class HandFinder:
    """Up to two hands per image. Not thread-safe: one per thread."""

    def __init__(self) -> None:
        import mediapipe as mp

        from rtswap.vision.detect import quiet_stderr

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
    (counted here: a live stream's stages see gaps in the frame numbers), and gives the hands it
    last found in between."""

    def __init__(self, every: int = HANDS_EVERY) -> None:
        self.every = every
        self._finder = HandFinder()
        self._hands: list[np.ndarray] = []
        self._due = 0
        """Frames to go before the next look."""

    def close(self) -> None:
        self._finder.close()

    def __call__(self, host_image: Callable[[], np.ndarray], slower: int = 1) -> list[np.ndarray]:
        """The hands in a frame, or in the latest frame looked at. ``host_image`` gives the
        frame's pixels on the host, and is called only when the frame is looked at (a frame on the
        device is copied for it). ``slower``: the next look comes that many times later (the
        governor's ``detect_slower``)."""
        if self._due == 0:
            self._hands = self._finder.find(host_image())
            self._due = self.every * slower
        self._due -= 1
        return self._hands


def silhouettes(hands: list[np.ndarray], matrices: list[np.ndarray], size: int) -> np.ndarray:
    """(B, S, S) float32, 1 inside any of ``hands`` (landmarks in frame pixels) in each of the
    crops that ``matrices`` (2x3, frame to crop) take of side ``size``."""
    out = np.zeros((len(matrices), size, size), np.uint8)
    for mask, matrix in zip(out, matrices, strict=True):
        for hand in hands:
            points = hand @ matrix[:, :2].T + matrix[:, 2]
            knuckles = points[[5, 9, 13, 17]]
            width = max(
                1, round(_FINGER_WIDTH * float(np.linalg.norm(np.diff(knuckles, axis=0), axis=1).mean()))
            )
            pixels = np.round(points).astype(np.int32)
            hull = cv2.convexHull(pixels[_PALM])
            cv2.fillConvexPoly(mask, hull, (1,))
            cv2.polylines(mask, [hull], True, (1,), width)
            fingers = [points[finger] for finger in _FINGERS]
            for finger in fingers:  # the tip point sits in the finger's pad
                last = finger[-1] - finger[-2]
                finger[-1] += last / max(float(np.linalg.norm(last)), 1e-6) * width / 2
            cv2.polylines(mask, [np.round(f).astype(np.int32) for f in fingers], False, (1,), width)
            for x, y in np.round(np.concatenate(fingers)).astype(np.int32):  # round joints and tips
                cv2.circle(mask, (int(x), int(y)), width // 2, (1,), -1)
            elbow = points[0] + _FOREARM_LENGTH * (points[0] - points[9])
            arm = max(1, round(_ARM_WIDTH * float(np.linalg.norm(points[5] - points[17]))))
            cv2.line(mask, _xy(points[0]), _xy(elbow), (1,), arm)
    return out.astype(np.float32)


def _xy(point: np.ndarray) -> tuple[int, int]:
    return round(float(point[0])), round(float(point[1]))
