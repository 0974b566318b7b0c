"""The ``warp`` engine: dense face-mesh warp of the source texture onto the target geometry.

Needs no downloaded weights. The source is aligned into the crop once (``prepare``); per face and
frame the target mesh is rasterised in crop space and the source texture is looked up with one
``grid_sample``. The mesh leaves the mouth interior open, so an open target mouth keeps its own
teeth and tongue; eyes are filled with a fan around the iris centre, so gaze follows the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rtswap.frame import Face
from rtswap.swap.raster import interpolate, rasterize
from rtswap.vision.align import ffhq_template, sample
from rtswap.vision.pose import head_pose
from rtswap.vision.topology import FACE_OVAL, LEFT_IRIS, RIGHT_IRIS, TRIANGLES

_TIGHTEN = 1.3
"""The FFHQ template leaves the face a quarter of the crop; scaling it by 1.3 about the face's
centre gives the face most of the crop while leaving room for the feathered paste mask."""
_FFHQ_FACE_CENTRE = np.array([256.0, 315.0])
_RASTER_STRIDE = 2
"""The mesh is rasterised at half the crop's resolution and the texture coordinates upsampled:
a quarter of the raster work, and the same pixels where the map is affine (inside triangles)."""


def warp_template(size: int) -> np.ndarray:
    """(5, 2) template for the ``warp`` crop of side ``size``."""
    scale = size / 512.0
    return (ffhq_template(512) - _FFHQ_FACE_CENTRE) * _TIGHTEN * scale + size / 2.0


@dataclass
class WarpIdentity:
    """A source face prepared for the warp engine."""

    texture: torch.Tensor
    """(1, 3, S, S) float [0, 1] RGB: the source aligned into the crop."""
    landmarks: torch.Tensor
    """(478, 2) float32: the source's landmarks in crop pixels."""
    pose: tuple[float, float, float]
    """(yaw, pitch, roll) degrees of the source view."""
    weight: torch.Tensor
    """(478, 1) float32 per-vertex opacity: 0 on the forehead's edge, where a source's hairline
    and fringe would otherwise be pasted onto the target's forehead, 1 elsewhere."""


class WarpEngine:
    name = "warp"
    any_crop_size = True
    """``swap`` works on target crops of any size up to ``crop_size`` (the source's texture stays
    at ``crop_size``), so small faces can be swapped in smaller crops."""

    def __init__(self, crop_size: int = 256, device: torch.device | str = "cpu") -> None:
        self.crop_size = crop_size
        self.device = torch.device(device)
        self._triangles = torch.as_tensor(TRIANGLES, device=self.device)

    def template(self, size: int | None = None) -> np.ndarray:
        return warp_template(size or self.crop_size)

    def prepare(self, crop: torch.Tensor, landmarks: np.ndarray, face: Face) -> WarpIdentity:
        """crop: (1, 3, S, S) aligned source; landmarks: (478, 2) in crop pixels."""
        return WarpIdentity(
            texture=crop.to(self.device),
            landmarks=torch.as_tensor(landmarks[:, :2], dtype=torch.float32, device=self.device),
            pose=head_pose(face.landmarks),
            weight=torch.as_tensor(_vertex_weight(landmarks), device=self.device)[:, None],
        )

    def swap(
        self, crops: torch.Tensor, landmarks: torch.Tensor, identity: WarpIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Warp the source onto each target face.

        crops: (B, 3, S, S) aligned targets (unused by this engine beyond their size);
        landmarks: (B, 478, 2) target landmarks in crop pixels.
        Returns swapped (B, 3, S, S) RGB [0, 1] and coverage (B, 1, S, S) in [0, 1]: 0 off the
        mesh and in an open mouth, fading to 0 towards the forehead's edge.
        """
        size = crops.shape[-1]
        low = size // _RASTER_STRIDE
        scale = low / size
        per_vertex = torch.cat([identity.landmarks, identity.weight], dim=1)  # (478, 3)
        maps = []
        for target in landmarks:
            index, bary = rasterize(((target + 0.5) * scale - 0.5)[self._triangles], low, low)
            covered = (index >= 0).to(torch.float32)[..., None]
            maps.append(torch.cat([interpolate(index, bary, per_vertex, self._triangles), covered], dim=-1))
        # The map is affine inside each triangle, so bilinear upsampling is exact there (zero
        # outside the mesh); dividing by the upsampled coverage keeps the coordinates right next to
        # holes and the mesh's edge.
        up = F.interpolate(torch.stack(maps).permute(0, 3, 1, 2), size=(size, size), mode="bilinear")
        covered = up[:, 3:4]
        coords = up[:, :2] / covered.clamp(min=1e-6)
        swapped = sample(identity.texture.expand(len(maps), -1, -1, -1), coords.permute(0, 2, 3, 1))
        coverage = up[:, 2:3].contiguous()
        return swapped * (covered > 0.5), coverage * (covered > 0.5)


def _vertex_weight(landmarks: np.ndarray) -> np.ndarray:
    """(478,) float32: 0 for face-oval vertices above the eyes of the upright aligned source."""
    weight = np.ones(len(landmarks), np.float32)
    eye_y = landmarks[[LEFT_IRIS, RIGHT_IRIS], 1].mean()
    weight[[i for i in FACE_OVAL if landmarks[i, 1] < eye_y]] = 0.0
    return weight
