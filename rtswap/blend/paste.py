"""Moving pixels between a frame region and an aligned crop, touching only the face's region."""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch

from rtswap.vision.align import invert_affine, warp_affine


class FaceRegion:
    """The frame rectangle that an aligned crop covers, as a float tensor, plus the transforms.

    Only this rectangle is converted to float, sampled and written: per-face cost does not
    grow with frame size. On the CPU the resampling is OpenCV's ``warpAffine`` on interleaved
    channels (several times faster than building a sampling grid); elsewhere ``grid_sample``.
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
        roi = frame[self.y0 : self.y1, self.x0 : self.x1].to(torch.float32) / 255.0
        self._on_cpu = frame.device.type == "cpu"
        self.pixels = roi if self._on_cpu else roi.permute(2, 0, 1)[None]
        """The region as float [0, 1]: (h, w, 3) on the CPU, for OpenCV; else (1, 3, h, w)."""

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def crop(self) -> torch.Tensor:
        """(1, 3, S, S) float [0, 1] aligned crop, black outside the frame."""
        to_region = invert_affine(self.matrix) - np.array([[0.0, 0.0, self.x0], [0.0, 0.0, self.y0]])
        if self._on_cpu:
            crop = _cv_warp(self.pixels.numpy(), to_region, self.size, self.size)
            return torch.from_numpy(crop).permute(2, 0, 1)[None].contiguous()
        return warp_affine(self.pixels, to_region, self.size, self.size)

    def paste(self, frame: torch.Tensor, delta: torch.Tensor) -> None:
        """Add a crop-space change (1, 3, S, S), already weighted by its alpha, into ``frame``
        (H, W, 3) uint8 in place. Where the change is zero the frame keeps its exact bytes."""
        from_region = self.matrix.copy()
        from_region[:, 2] += self.matrix[:, :2] @ np.array([self.x0, self.y0])
        height, width = self.y1 - self.y0, self.x1 - self.x0
        if self._on_cpu:
            warped = _cv_warp(delta[0].permute(1, 2, 0).contiguous().numpy(), from_region, height, width)
            out = self.pixels + torch.from_numpy(warped).reshape(height, width, 3)
        else:
            out = (self.pixels + warp_affine(delta, from_region, height, width))[0].permute(1, 2, 0)
        frame[self.y0 : self.y1, self.x0 : self.x1] = out.clamp(0, 1).mul(255).round().to(torch.uint8)


def _cv_warp(image: np.ndarray, matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    """(height, width, C): output pixel (x, y) takes ``image`` bilinearly at ``matrix @ (x, y, 1)``,
    zeros outside, as :func:`~rtswap.vision.align.warp_affine` does."""
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(
        image, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )
