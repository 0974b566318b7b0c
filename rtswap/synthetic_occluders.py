"""Occluders drawn on a face, placed by its landmarks: test and benchmark inputs for
:mod:`rtswap.blend.occluders`, and the measures that go with them."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.vision.landmarks import (
    CHIN,
    FOREHEAD,
    LEFT_EYE_OUTER,
    LEFT_IRIS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    RIGHT_EYE_OUTER,
    RIGHT_IRIS,
)

BROW_TOPS = [105, 334]
"""The top of each eyebrow's arch."""

FRAME_COLOUR = (60, 35, 25)
HAND_COLOUR = (82, 52, 38)


def with_glasses(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with dark glasses frames drawn around the eyes, and the frames' mask."""
    left, right = landmarks[LEFT_IRIS, :2], landmarks[RIGHT_IRIS, :2]
    spacing = float(np.linalg.norm(right - left))
    axes = (round(spacing * 0.42), round(spacing * 0.3))
    thickness = max(2, round(spacing * 0.06))
    mask = np.zeros(image.shape[:2], np.uint8)
    for centre in (left, right):
        cv2.ellipse(
            mask, (round(centre[0]), round(centre[1] + spacing * 0.05)), axes, 0, 0, 360, (255,), thickness
        )
    bridge_y = round((left[1] + right[1]) / 2 - spacing * 0.02)
    x0, x1 = round(left[0] + axes[0]), round(right[0] - axes[0])
    cv2.line(mask, (x0, bridge_y), (x1, bridge_y), (255,), thickness)
    for centre, side in ((left, -1), (right, 1)):  # the arms, out to the ears
        y = round(centre[1])
        cv2.line(
            mask,
            (round(centre[0] + side * axes[0]), y),
            (round(centre[0] + side * spacing), y),
            (255,),
            thickness,
        )
    out = image.copy()
    out[mask > 0] = FRAME_COLOUR
    return out, mask > 0


def with_hand(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a hand shape (palm and four fingers, from below) over the mouth,
    and its mask. Its skin is darker than the face's: a hand of the face's own tone is not found."""
    mouth = (landmarks[MOUTH_LEFT, :2] + landmarks[MOUTH_RIGHT, :2]) / 2
    width = float(np.linalg.norm(landmarks[MOUTH_RIGHT, :2] - landmarks[MOUTH_LEFT, :2])) * 1.6
    chin_y = float(landmarks[CHIN, 1])
    mask = np.zeros(image.shape[:2], np.uint8)
    palm_top = mouth[1] + width * 0.1
    palm = np.array(
        [
            (mouth[0] - width / 2, palm_top),
            (mouth[0] + width / 2, palm_top),
            (mouth[0] + width * 0.45, chin_y + width * 0.8),
            (mouth[0] - width * 0.45, chin_y + width * 0.8),
        ]
    )
    cv2.fillConvexPoly(mask, np.round(palm).astype(np.int32), (255,))
    finger = width / 4
    for k in range(4):
        x = mouth[0] - width / 2 + finger * (k + 0.5)
        top = mouth[1] - width * (0.35 + 0.1 * (k in (1, 2)))
        cv2.line(mask, (round(x), round(palm_top)), (round(x), round(top)), (255,), round(finger * 0.8))
    out = image.copy()
    out[mask > 0] = HAND_COLOUR
    return out, mask > 0


def forehead_rows(before: np.ndarray, after: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Per-row change of mean luma ([0, 1]) across the forehead, from the top of the face to just
    above the brows, between the eyes' outer corners: a source's fringe pasted on shows as a band
    of rows that all darken."""
    x0, x1 = round(landmarks[LEFT_EYE_OUTER, 0]), round(landmarks[RIGHT_EYE_OUTER, 0])
    y0, y1 = round(landmarks[FOREHEAD, 1]), round(landmarks[BROW_TOPS, 1].min()) - 3
    weights = np.array([0.299, 0.587, 0.114]) / 255
    return (after[y0:y1, x0:x1] @ weights).mean(axis=1) - (before[y0:y1, x0:x1] @ weights).mean(axis=1)
