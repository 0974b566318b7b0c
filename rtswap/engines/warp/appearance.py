"""FSGAN's appearance map: source views indexed by head pose, blended by barycentric weights.

The views' (yaw, pitch) and four far corners are triangulated (Delaunay). A target pose falls in
one triangle; its barycentric weights say how much of each of the (up to three) views to use.
Corners carry no texture, so their weight is dropped and the rest renormalised; inside the views'
hull the corners' weight is zero anyway. Weights change continuously with the pose, so a head
turning from one view towards another cross-fades between them instead of switching.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

CORNER_DEG = 75.0
_CORNERS = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * CORNER_DEG


class AppearanceMap:
    """``poses``: (V, 2) yaw, pitch in degrees of the source views."""

    def __init__(self, poses: np.ndarray) -> None:
        self.poses = np.asarray(poses, np.float64).reshape(-1, 2)
        self._points = np.vstack([self.poses, _CORNERS])
        self._mesh = Delaunay(self._points) if len(self.poses) >= 1 else None

    def __len__(self) -> int:
        return len(self.poses)

    def weights(self, yaw: float, pitch: float) -> list[tuple[int, float]]:
        """(view index, weight) pairs, weights > 0 summing to 1, for a target at (yaw, pitch)."""
        if len(self.poses) == 1:
            return [(0, 1.0)]
        point = np.clip([yaw, pitch], -CORNER_DEG + 1e-6, CORNER_DEG - 1e-6)
        assert self._mesh is not None
        simplex = int(self._mesh.find_simplex(point))
        vertices = self._mesh.simplices[simplex]
        affine = self._mesh.transform[simplex]
        bary = affine[:2] @ (point - affine[2])
        bary = np.append(bary, 1.0 - bary.sum()).clip(min=0.0)
        real = [
            (int(v), float(w)) for v, w in zip(vertices, bary, strict=True) if v < len(self.poses) and w > 0
        ]
        total = sum(w for _, w in real)
        if total <= 1e-9:  # the triangle touches no view with weight: use the nearest view
            nearest = int(np.argmin(np.hypot(*(self.poses - point).T)))
            return [(nearest, 1.0)]
        return [(v, w / total) for v, w in real]
