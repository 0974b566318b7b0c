"""How squarely each part of the face mesh faces the camera, from the mesh's own depth.

A triangle turned away from the camera, or folded over by a turn, has no texture to give or
take: the warp engine leaves it out of the target's mesh, and where a source view turns part of
its face away, takes the mirrored side's texture in its place. Landmarks are image x (right),
y (down) and mediapipe's z (larger is farther), all in the same units.
"""

from __future__ import annotations

import torch

from rtswap.device import Constant
from rtswap.geometry.topology import TRIANGLES

_TRIANGLES = Constant(TRIANGLES)
FADE_FROM, FADE_TO = 0.1, 0.35
"""A vertex whose surface turns this far from the camera (the cosine of its normal's angle to
the line of sight) is fully hidden, and fully visible from the second on."""


def facing(landmarks: torch.Tensor) -> torch.Tensor:
    """(..., 478, 3) landmarks -> (..., T) cosine between each triangle's normal and the line of
    sight: 1 square to the camera, 0 edge-on, < 0 turned away (the far side of a fold)."""
    corners = landmarks[..., _TRIANGLES.on(landmarks.device), :]  # (..., T, 3, 3)
    normals = torch.linalg.cross(
        corners[..., 1, :] - corners[..., 0, :], corners[..., 2, :] - corners[..., 0, :]
    )
    # TRIANGLES is wound one way; on whichever side the face is seen from, the visible part of the
    # mesh outweighs the part turned away, so the sign of the summed depth components says which.
    side = torch.sign(normals[..., 2].sum(dim=-1, keepdim=True))
    return side * normals[..., 2] / normals.norm(dim=-1).clamp(min=1e-9)


def visibility(landmarks: torch.Tensor) -> torch.Tensor:
    """(..., 478, 3) landmarks -> (..., 478) in [0, 1]: each vertex's triangles' mean facing,
    faded from 0 at :data:`FADE_FROM` to 1 at :data:`FADE_TO`. Vertices outside the triangles
    (the iris rings) get 1."""
    triangles = _TRIANGLES.on(landmarks.device).flatten()
    per_corner = facing(landmarks).repeat_interleave(3, dim=-1)  # (..., 3T), in the order of triangles
    shape = (*landmarks.shape[:-1],)
    total = landmarks.new_zeros(shape).index_add_(-1, triangles, per_corner)
    count = landmarks.new_zeros(shape[-1]).index_add_(
        0, triangles, torch.ones_like(triangles, dtype=landmarks.dtype)
    )
    mean = torch.where(count > 0, total / count.clamp(min=1), torch.ones_like(total))
    return ((mean - FADE_FROM) / (FADE_TO - FADE_FROM)).clamp(0, 1)
