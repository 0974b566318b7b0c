"""A face of darker skin, made from one of our photos (we have two faces, both of light skin): its
skin, ears and neck darkened in linear light, its eyes and the inside of its mouth (the whites,
the teeth) as they were."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.geometry.topology import LEFT_EYE_HOLE, MOUTH_HOLE, RIGHT_EYE_HOLE

DEEP_BROWN = (0.3, 0.22, 0.17)
"""Linear-light factors per channel (R, G, B): the astronaut's cheek (sRGB ~ 235, 200, 175) comes
out near (135, 100, 80), a brown."""


def darker_skin(
    image: np.ndarray, landmarks: np.ndarray, factors: tuple[float, float, float] = DEEP_BROWN
) -> np.ndarray:
    """``image`` (HxWx3 uint8 RGB) with the face of ``landmarks`` (478, 2+) given darker skin."""
    points = landmarks[:, :2].astype(np.float64)
    height = np.ptp(points[:, 1])
    centre = points.mean(axis=0)
    widened = (points - centre) * (1.15, 1.0) + centre  # the ears
    chin_side = points[points[:, 1] > centre[1]]
    neck = (chin_side - centre) * (0.75, 1.0) + centre + (0.0, 0.6 * height)
    drawn = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(drawn, _hull(np.vstack([widened, neck])), (1,))
    for hole in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE, MOUTH_HOLE):
        cv2.fillPoly(drawn, [np.round(points[hole]).astype(np.int32)], (0,))
    skin = cv2.GaussianBlur(drawn.astype(np.float32), (0, 0), max(1.0, height / 150))[..., None]
    linear = (image / 255.0) ** 2.2
    out = linear * (1 - skin + skin * np.asarray(factors))
    return np.clip(out ** (1 / 2.2) * 255 + 0.5, 0, 255).astype(np.uint8)


def _hull(points: np.ndarray) -> np.ndarray:
    return cv2.convexHull(np.round(points).astype(np.int32))
