"""The face region of a target crop, from its landmarks: the mask neural engines' swaps go through."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.device import Constant
from rtswap.geometry.raster import rasterize
from rtswap.geometry.topology import TRIANGLES

_TRIANGLES = Constant(TRIANGLES)
_STRIDE = 2
"""Rasterised at half the crop's resolution, then upsampled: the mask's edge is feathered by the
composite anyway."""


def mesh_mask(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 on the face mesh (eyes filled, so they are swapped; an
    open mouth left out, so the target keeps its teeth and tongue, as ``warp`` does), 0 elsewhere.
    landmarks: (B, 478, 2) target landmarks in crop pixels."""
    low = size // _STRIDE
    scale = low / size
    triangles = _TRIANGLES.on(landmarks.device)
    covered = (rasterize(((landmarks + 0.5) * scale - 0.5)[:, triangles], low, low)[0] >= 0).to(torch.float32)
    return F.interpolate(covered[:, None], size=(size, size), mode="bilinear")
