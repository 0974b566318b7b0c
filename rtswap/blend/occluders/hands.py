"""Hands' silhouettes in the aligned face crops, from the 21 landmarks of each hand that
:mod:`rtswap.detect.hands` finds: the palm's hull, each finger's bones drawn as wide as a finger
and a half-width past its tip, and the forearm, a little wider than the knuckles, from the wrist on
away from the fingers (a hand over a face comes with its arm)."""

from __future__ import annotations

import cv2
import numpy as np

_PALM = [0, 1, 2, 5, 9, 13, 17]
"""The wrist, the thumb's base and the knuckles."""
_FINGERS = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16], [17, 18, 19, 20]]
_FINGER_WIDTH = 1.1
"""A finger's width, in knuckle spacings (index to little finger, over three)."""
_FOREARM_LENGTH = 3.0
"""The forearm drawn, in lengths from the wrist to the middle finger's knuckle..."""
_ARM_WIDTH = 1.3
"""...and its width, in spans from the index finger's knuckle to the little finger's."""


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
