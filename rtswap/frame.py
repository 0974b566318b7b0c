"""Data that flows between stages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Face:
    """One face in one frame. All coordinates are frame pixels."""

    box: np.ndarray
    """(4,) float: x0, y0, x1, y1."""
    landmarks: np.ndarray
    """(478, 3) float32: x, y in pixels; z relative depth in pixels (smaller = nearer the camera)."""
    score: float
    """Detector confidence in [0, 1]."""

    @property
    def height(self) -> float:
        return float(self.landmarks[:, 1].max() - self.landmarks[:, 1].min())

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))
