"""Moving pixels between a frame region and an aligned crop, touching only the face's region."""

from __future__ import annotations

import math

import numpy as np
import torch

from rtswap.vision.align import invert_affine, warp_affine


class FaceRegion:
    """The frame rectangle that an aligned crop covers, as a float tensor, plus the transforms.

    Only this rectangle is converted to float, sampled and written: per-face cost does not
    grow with frame size.
    """

    def __init__(self, frame: torch.Tensor, matrix: np.ndarray, size: int) -> None:
        """frame: (H, W, 3) uint8 RGB tensor; matrix: 2x3 frame -> crop; size: crop side."""
        height, width = frame.shape[:2]
        corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
        inverse = invert_affine(matrix)
        frame_corners = corners @ inverse[:, :2].T + inverse[:, 2]
        self.x0 = max(0, math.floor(frame_corners[:, 0].min()) - 1)
        self.y0 = max(0, math.floor(frame_corners[:, 1].min()) - 1)
        self.x1 = min(width, math.ceil(frame_corners[:, 0].max()) + 2)
        self.y1 = min(height, math.ceil(frame_corners[:, 1].max()) + 2)
        self.matrix, self.size = matrix, size
        roi = frame[self.y0 : self.y1, self.x0 : self.x1]
        self.pixels = roi.permute(2, 0, 1)[None].to(torch.float32) / 255.0

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def crop(self) -> torch.Tensor:
        """(1, 3, S, S) float [0, 1] aligned crop, black outside the frame."""
        to_region = invert_affine(self.matrix) - np.array([[0.0, 0.0, self.x0], [0.0, 0.0, self.y0]])
        return warp_affine(self.pixels, to_region, self.size, self.size)

    def paste(self, frame: torch.Tensor, delta: torch.Tensor) -> None:
        """Add a crop-space change (1, 3, S, S), already weighted by its alpha, into ``frame``
        (H, W, 3) uint8 in place. Where the change is zero the frame keeps its exact bytes."""
        from_region = self.matrix.copy()
        from_region[:, 2] += self.matrix[:, :2] @ np.array([self.x0, self.y0])
        change = warp_affine(delta, from_region, self.y1 - self.y0, self.x1 - self.x0)
        out = (self.pixels + change).clamp(0, 1).mul(255).round().to(torch.uint8)
        frame[self.y0 : self.y1, self.x0 : self.x1] = out[0].permute(1, 2, 0)
