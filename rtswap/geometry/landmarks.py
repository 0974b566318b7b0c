"""Named points of mediapipe's 478-point face mesh, and the five alignment points.

Plain indices only: importing this module does not import mediapipe (the index sets derived from
the mesh's connection lists live in :mod:`rtswap.geometry.topology`).
"""

from __future__ import annotations

import numpy as np

NUM_LANDMARKS = 478

# Five alignment points, in template order: image-left eye, image-right eye, nose tip,
# image-left mouth corner, image-right mouth corner. Eyes are the iris centres.
LEFT_IRIS, RIGHT_IRIS = 468, 473
NOSE_TIP = 4
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
FOREHEAD, CHIN = 10, 152
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 33, 263

MIDLINE = [
    10,
    151,
    9,
    8,
    168,
    6,
    197,
    195,
    5,
    4,
    1,
    19,
    94,
    2,
    164,
    0,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    18,
    200,
    199,
    175,
    152,
]
"""The mesh's vertices on the face's vertical midline, forehead to chin."""

FIVE_POINTS_FROM_MESH = (LEFT_IRIS, RIGHT_IRIS, NOSE_TIP, MOUTH_LEFT, MOUTH_RIGHT)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(5, 2) alignment points from (478, 2+) landmarks, in template order."""
    return np.asarray(landmarks)[list(FIVE_POINTS_FROM_MESH), :2]
