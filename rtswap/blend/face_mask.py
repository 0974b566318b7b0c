"""Regions of a face crop, from its landmarks: the face (the mask neural engines' swaps go through)
and its eyes with the skin round them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.device import Constant
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.geometry.raster import rasterize
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE, TRIANGLES, around

_TRIANGLES = Constant(TRIANGLES)
_STRIDE = 2
"""Rasterised at half the crop's resolution, then upsampled: the mask's edge is feathered by the
composite anyway."""

_EYE_RINGS = 3
"""The eyes' region reaches this many rings of the mesh beyond each eye's opening: the lids and
the skin round them, about as far as a spectacle lens reaches (on Grace Hopper, to her frames;
two rings leave her lower lids' folds out, four reach her frames' top bar)."""


def _near_the_eyes(rings: int) -> frozenset[int]:
    """The irises' centres, the eyes' rims and the vertices within ``rings`` edges of them."""
    return frozenset({LEFT_IRIS, RIGHT_IRIS, *around(LEFT_EYE_HOLE, rings), *around(RIGHT_EYE_HOLE, rings)})


AROUND_THE_EYES = _near_the_eyes(_EYE_RINGS)
"""The mesh's vertices of the eyes' region (:data:`_EYE_RINGS`)."""
_EYES = {
    openings: Constant([t for t in TRIANGLES.tolist() if near.issuperset(t)])
    for openings, near in ((True, _near_the_eyes(0)), (False, AROUND_THE_EYES))
}
"""The triangles of the eyes' openings (fanned round the irises' centres), and of their region."""


def mesh_mask(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 on the face mesh (eyes filled, so they are swapped; an
    open mouth left out, so the target keeps its teeth and tongue, as ``warp`` does), 0 elsewhere.
    landmarks: (B, 478, 2) target landmarks in crop pixels."""
    return _drawn(landmarks, _TRIANGLES, size)


def eyes_mask(landmarks: torch.Tensor, size: int, *, openings: bool = False) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 on the eyes' openings, their lids and the skin round them
    (:data:`_EYE_RINGS`), or on the ``openings`` alone. landmarks: (B, 478, 2) in crop pixels."""
    return _drawn(landmarks, _EYES[openings], size)


def _drawn(landmarks: torch.Tensor, triangles: Constant, size: int) -> torch.Tensor:
    low = size // _STRIDE
    scale = low / size
    corners = ((landmarks + 0.5) * scale - 0.5)[:, triangles.on(landmarks.device)]
    covered = (rasterize(corners, low, low)[0] >= 0).to(torch.float32)
    return F.interpolate(covered[:, None], size=(size, size), mode="bilinear")
