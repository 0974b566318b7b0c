"""Head pose from 3D face-mesh landmarks."""

from __future__ import annotations

import math

import numpy as np

from rtswap.geometry.landmarks import CHIN, FOREHEAD, LEFT_EYE_OUTER, RIGHT_EYE_OUTER


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from (478, 3) landmarks (x right, y down, z away from camera).

    The head frame is built from the face itself: x along the outer eye corners, y from chin to
    forehead, z their normal. yaw > 0: the face turns towards image right; pitch > 0: it tilts up;
    roll > 0: the eye line rises towards image right. The same face geometry gives the same angles,
    so differences between two images of one face are meaningful even though "zero pitch" is
    the face's own forehead-chin line, not the camera axis.
    """
    p = np.asarray(landmarks, np.float64)[:, :3] * np.array([1.0, -1.0, -1.0])  # y up, z towards camera
    x_axis = p[RIGHT_EYE_OUTER] - p[LEFT_EYE_OUTER]
    x_axis /= np.linalg.norm(x_axis)
    up = p[FOREHEAD] - p[CHIN]
    y_axis = up - up.dot(x_axis) * x_axis
    y_axis /= np.linalg.norm(y_axis)
    z_axis = np.cross(x_axis, y_axis)
    yaw = math.degrees(math.atan2(z_axis[0], z_axis[2]))
    pitch = math.degrees(math.asin(np.clip(z_axis[1], -1.0, 1.0)))
    roll = math.degrees(math.atan2(x_axis[1], x_axis[0]))
    return yaw, pitch, roll
