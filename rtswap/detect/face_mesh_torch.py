"""mediapipe's 478-point face mesh (the attention model: refined lips, eyes and irises) as a
batched PyTorch module, on any device.

The network is the ``.tflite`` file the mediapipe wheel ships, run by :class:`TfliteGraph` with
its three attention operators. The steps around it are mediapipe's: the face's region from the
previous frame's landmarks (their bounding box, turned to the line between the eye corners, grown
1.5 times to a square), a 192 px crop of it in [0, 1], and the refinement that puts the lips'
and eyes' own landmarks into the mesh and appends the irises. The refinement's vertex lists are the
attention crops' own, read from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from rtswap.detect.tflite_graph import TfliteGraph
from rtswap.geometry.align import warp_affine
from rtswap.geometry.landmarks import LEFT_EYE_OUTER, RIGHT_EYE_OUTER
from rtswap.geometry.mediapipe_files import mediapipe_file

INPUT_PX = 192
_ROI_SCALE = 1.5
_EYE_CONTOUR = 16
"""The first vertices of each eye's list are its contour (9 below, 7 above): an iris's depth is
their mean."""


def model_path() -> Path:
    return mediapipe_file("modules/face_landmark/face_landmark_with_attention.tflite")


@dataclass(frozen=True)
class Region:
    """A square region of an image, turned: where the mesh looks for a face."""

    centre: tuple[float, float]
    side: float
    rotation: float
    """Radians, clockwise on the image (y down)."""

    @classmethod
    def around(cls, landmarks: np.ndarray) -> Region:
        """Where mediapipe looks for a face it found at ``landmarks`` (N, 2+) in image pixels on
        the previous frame."""
        points = landmarks[:, :2].astype(np.float64)
        low, high = points.min(axis=0), points.max(axis=0)
        dx, dy = points[RIGHT_EYE_OUTER] - points[LEFT_EYE_OUTER]
        side = float(max(high - low)) * _ROI_SCALE
        return cls(
            (float(low[0] + high[0]) / 2, float(low[1] + high[1]) / 2), side, float(np.arctan2(dy, dx))
        )

    def to_image(self) -> np.ndarray:
        """2x3: crop pixels (0..192, mediapipe's corner-to-corner map) -> image pixels."""
        cos, sin = np.cos(self.rotation), np.sin(self.rotation)
        scale = self.side / INPUT_PX
        rotate = np.array([[cos, -sin], [sin, cos]]) * scale
        return np.hstack([rotate, (np.array(self.centre) - rotate @ [INPUT_PX / 2, INPUT_PX / 2])[:, None]])


class FaceMeshNet(torch.nn.Module):
    """``forward`` takes (B, 3, 192, 192) crops in [0, 1] and returns (B, 478, 3) landmarks in crop
    pixels (depth in the same units, as mediapipe's) and (B,) face presence scores."""

    def __init__(self) -> None:
        super().__init__()
        self.network = TfliteGraph(model_path())
        # the attention crops, in the file's order: lips, left eye, right eye
        lips, left_eye, right_eye = (
            o["subset_idxs"] for o in self.network.custom_options("Landmarks2TransformMatrix")
        )
        self._lips: torch.Tensor
        self._left_eye: torch.Tensor
        self._right_eye: torch.Tensor
        for name, indices in (("lips", lips), ("left_eye", left_eye), ("right_eye", right_eye)):
            self.register_buffer(f"_{name}", torch.tensor(indices))

    def forward(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mesh, lips, left_eye, right_eye, left_iris, right_iris, presence = self.network(crops)
        batch = len(crops)
        points = torch.cat([mesh.reshape(batch, 468, 3), mesh.new_zeros(batch, 10, 3)], dim=1)
        for indices, refined in (
            (self._lips, lips),
            (self._left_eye, left_eye),
            (self._right_eye, right_eye),
        ):
            points[:, indices, :2] = refined.reshape(batch, -1, 2)
        for start, eye, iris in ((468, self._left_eye, left_iris), (473, self._right_eye, right_iris)):
            points[:, start : start + 5, :2] = iris.reshape(batch, 5, 2)
            points[:, start : start + 5, 2] = points[:, eye[:_EYE_CONTOUR], 2].mean(dim=1, keepdim=True)
        return points, torch.sigmoid(presence.reshape(batch))


def crops(image: torch.Tensor, regions: list[Region]) -> torch.Tensor:
    """(B, 3, 192, 192) [0, 1] crops of ``regions`` from an (H, W, 3) uint8 image, resampled from
    8-bit pixels as mediapipe does, all in one batch."""
    to_image = np.stack([region.to_image() for region in regions])
    pixels = warp_affine(image.permute(2, 0, 1)[None].float(), to_image, INPUT_PX, INPUT_PX)
    return pixels.round() / 255.0


def to_image(points: np.ndarray, region: Region) -> np.ndarray:
    """(478, 3) crop-pixel landmarks -> float32 image pixels (depth scaled with x and y), on the
    host: the tracker reads them there, so the network's points come back in one copy and the
    mapping costs the device nothing."""
    matrix = region.to_image()
    xy = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return np.concatenate([xy, points[:, 2:] * (region.side / INPUT_PX)], axis=1).astype(np.float32)
