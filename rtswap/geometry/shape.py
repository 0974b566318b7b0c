"""The source's face shape on the target's motion (FACEGAN's idea; ``--shape source``).

The source's 3D landmarks are posed as the target's head (a 3D similarity fitted to the target's
landmarks) and projected: the face outline, nose, brows and the places of the eyes and mouth
become the source's. What moves with expression stays the target's: each eye and the lips keep
the target's shape and move as a whole, and the jaw below the mouth follows the lips up and down
(an open mouth stays open), taking only its width from the source.

The outline moves, so the target's pixels around it (jaw, neck, hair, background) move with it:
:func:`background_map` warps the crop through the face mesh and a ring outside the outline that
stays put, fading to no movement at the crop's border, so the warped crop meets the frame without
a seam.
"""

from __future__ import annotations

import numpy as np
import torch

from rtswap.device import Constant
from rtswap.geometry.align import pixel_grid
from rtswap.geometry.landmarks import MOUTH_LEFT, MOUTH_RIGHT, NUM_LANDMARKS
from rtswap.geometry.mediapipe_files import face_mesh_connections
from rtswap.geometry.raster import interpolate, rasterize
from rtswap.geometry.topology import FACE_OVAL, MOUTH_HOLE, TRIANGLES

fmc = face_mesh_connections()

_EYES = [
    sorted({v for edge in fmc.FACEMESH_LEFT_EYE | fmc.FACEMESH_LEFT_IRIS for v in edge} | {468}),
    sorted({v for edge in fmc.FACEMESH_RIGHT_EYE | fmc.FACEMESH_RIGHT_IRIS for v in edge} | {473}),
]
_EYE_CORNERS = [[33, 133], [362, 263]]
"""Each eye's corners: where the eye is, whatever its lids do."""
_LIPS = sorted({v for edge in fmc.FACEMESH_LIPS for v in edge})
_UPPER_LIP = [37, 0, 267]
"""The top of the upper lip: where the mouth is, however open (the upper lip moves with the head,
the lower with the jaw)."""
_RING_SCALE = 1.3
"""The ring that stays put, as a scale of the outline about the face's centre."""
_JAW_BLEND = 0.15
"""Over this fraction of the face's height about the mouth corners, the jaw goes from moving on
its own to moving with the lips."""
_BORDER = 0.08
"""Movement fades to nothing over this fraction of the crop at its border."""

_SURFACE = np.concatenate(
    [TRIANGLES, [(MOUTH_HOLE[0], MOUTH_HOLE[i], MOUTH_HOLE[i + 1]) for i in range(1, len(MOUTH_HOLE) - 1)]]
)
"""The face mesh with the mouth closed: where the displacement is defined inside the outline."""
_RING = np.array(
    [
        tri
        for i in range(len(FACE_OVAL))
        for tri in (
            (FACE_OVAL[i], FACE_OVAL[i - 1], NUM_LANDMARKS + (i - 1) % len(FACE_OVAL)),
            (FACE_OVAL[i], NUM_LANDMARKS + (i - 1) % len(FACE_OVAL), NUM_LANDMARKS + i),
        )
    ]
)
"""Triangles between the outline and the ring: ring vertex k (numbered after the landmarks) is
outline vertex ``FACE_OVAL[k]`` pushed outwards."""
_RESHAPE_TRIANGLES = Constant(np.concatenate([_SURFACE, _RING]))


def reshaped(target: np.ndarray, source: np.ndarray) -> np.ndarray:
    """(478, 2) the target's landmarks with the source's face shape.

    target, source: (478, 3) x, y, depth in the same units (each in its own image or crop).
    """
    scale, rotation, shift = _similarity(source, target)
    posed = (scale * source @ rotation.T + shift)[:, :2]
    move = posed - target[:, :2]
    for eye, corners in zip(_EYES, _EYE_CORNERS, strict=True):
        move[eye] = move[corners].mean(axis=0)
    lips = move[_UPPER_LIP].mean(axis=0)
    move[_LIPS] = lips
    # below the mouth the jaw follows the lips up and down, blending in about the mouth corners
    height = float(np.ptp(target[:, 1]))
    corners_y = target[[MOUTH_LEFT, MOUTH_RIGHT], 1].mean()
    below = np.clip((target[:, 1] - corners_y) / (_JAW_BLEND * height) + 0.5, 0.0, 1.0)
    move[:, 1] = move[:, 1] * (1 - below) + lips[1] * below
    return target[:, :2] + move


def _similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale, rotation (3x3) and shift taking ``source`` onto ``target`` in least squares
    (Umeyama), over the surface points."""
    src, dst = source[:468].astype(np.float64), target[:468].astype(np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    sign = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sigma) @ sign) / src_c.var(axis=0).sum())
    return scale, rotation, dst_mean - scale * rotation @ src_mean


def background_map(before: torch.Tensor, after: torch.Tensor, size: int) -> torch.Tensor:
    """(S, S, 2) where each pixel of the reshaped crop comes from in the target's crop.

    before, after: (478, 2) the target's landmarks and the reshaped ones, in crop pixels. Inside
    the outline the face mesh carries the pixels; between the outline and a ring outside it they
    are carried less and less, and beyond the ring and at the crop's border not at all.
    """
    centre = before[FACE_OVAL].mean(dim=0)
    ring = centre + _RING_SCALE * (before[FACE_OVAL] - centre)
    moved = torch.cat([after, ring])
    origin = torch.cat([before, ring])
    low = size // 2
    triangles = _RESHAPE_TRIANGLES.on(before.device)
    index, bary = rasterize(((moved + 0.5) * (low / size) - 0.5)[triangles], low, low)
    shift = interpolate(index, bary, origin - moved, triangles)  # zero off the mesh and ring
    shift = torch.nn.functional.interpolate(shift.permute(2, 0, 1)[None], size=(size, size), mode="bilinear")
    grid = pixel_grid(size, size, before.device)
    edge = torch.minimum(grid, size - 1 - grid).amin(dim=-1) / (_BORDER * size)
    return grid + shift[0].permute(1, 2, 0) * edge.clamp(0, 1)[..., None]
