"""Regions of a face crop, from its landmarks: the face (the mask neural engines' swaps go through),
its eyes with the skin round them, and the openings of its eyes and mouth."""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from rtswap.device import Constant
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.geometry.raster import rasterize
from rtswap.geometry.topology import LEFT_EYE_HOLE, MOUTH_HOLE, RIGHT_EYE_HOLE, TRIANGLES, around

_TRIANGLES = Constant(TRIANGLES)
_STRIDE = 2
"""Rasterised at half the crop's resolution, then upsampled: the mask's edge is feathered by the
composite anyway."""

_SUBPIXEL_BITS = 4
_SUBPIXELS = 1 << _SUBPIXEL_BITS
"""OpenCV draws polygons with corners in sixteenths of a pixel."""
_EYE_RINGS = 3
"""The eyes' region reaches this many rings of the mesh beyond each eye's opening: the lids and
the skin round them, about as far as a spectacle lens reaches (on Grace Hopper, to her frames;
two rings leave her lower lids' folds out, four reach her frames' top bar)."""


def _near_the_eyes(rings: int) -> frozenset[int]:
    """The irises' centres, the eyes' rims and the vertices within ``rings`` edges of them."""
    return frozenset({LEFT_IRIS, RIGHT_IRIS, *around(LEFT_EYE_HOLE, rings), *around(RIGHT_EYE_HOLE, rings)})


AROUND_THE_EYES = _near_the_eyes(_EYE_RINGS)
"""The mesh's vertices of the eyes' region (:data:`_EYE_RINGS`)."""
_EYES = Constant([t for t in TRIANGLES.tolist() if AROUND_THE_EYES.issuperset(t)])
"""The triangles of the eyes' region."""
EYES = (LEFT_EYE_HOLE, RIGHT_EYE_HOLE)
MOUTH = (MOUTH_HOLE,)
"""The rims of the eyes' openings, and of the mouth's: loops of landmarks."""
_EYES_EDGES = Constant(np.concatenate([np.stack([rim, np.roll(rim, -1)], axis=1) for rim in EYES]))
"""(E, 2): the eyes' rims' edges, both eyes', as pairs of landmarks."""


def mesh_mask(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 on the face mesh (eyes filled, so they are swapped; an
    open mouth left out, so the target keeps its teeth and tongue, as ``warp`` does), 0 elsewhere.
    landmarks: (B, 478, 2) target landmarks in crop pixels."""
    return _drawn(landmarks, _TRIANGLES, size)


def eyes_mask(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 on the eyes' openings, their lids and the skin round them
    (:data:`_EYE_RINGS`). landmarks: (B, 478, 2) in crop pixels."""
    return _drawn(landmarks, _EYES, size)


def eye_openings(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 1, S, S) float32 in [0, 1]: 1 in the eyes' openings, the edges antialiased.
    landmarks: (B, 478, 2) in crop pixels. On the CPU OpenCV draws them (:func:`drawn_openings`);
    elsewhere :func:`eye_openings_tensor` (no copy to the host)."""
    if landmarks.device.type != "cpu":
        return eye_openings_tensor(landmarks, size)
    drawn = [drawn_openings(points, size, EYES) for points in landmarks.numpy()]
    return torch.from_numpy(np.stack(drawn))[:, None]


def drawn_openings(points: np.ndarray, size: int, rims: tuple[list[int], ...]) -> np.ndarray:
    """(S, S) float32 in [0, 1]: 1 inside the ``rims`` (:data:`EYES`, :data:`MOUTH`) of one face's
    landmarks ``points`` (478, 2+) in crop pixels, drawn by OpenCV, the edges antialiased."""
    canvas = np.zeros((size, size), np.uint8)
    loops = [np.round(points[rim, :2] * _SUBPIXELS).astype(np.int32) for rim in rims]
    cv2.fillPoly(canvas, loops, (255,), cv2.LINE_AA, _SUBPIXEL_BITS)
    return canvas.astype(np.float32) / 255


def eye_openings_tensor(landmarks: torch.Tensor, size: int) -> torch.Tensor:
    """:func:`eye_openings` in tensor operations: each pixel of half the crop's resolution is in
    an opening when a ray from it crosses the rims an odd number of times, then upsampled."""
    low = size // _STRIDE
    ends = ((landmarks + 0.5) / _STRIDE - 0.5)[:, _EYES_EDGES.on(landmarks.device)]  # (B, E, 2, 2)
    (x0, y0), (x1, y1) = ends[..., 0, :].unbind(-1), ends[..., 1, :].unbind(-1)
    rows = torch.arange(low, device=landmarks.device, dtype=landmarks.dtype)
    y = rows[None, None, :]  # (1, 1, h)
    spans = (y0[..., None] > y) != (y1[..., None] > y)  # (B, E, h): the edge spans the row
    x_at = x0[..., None] + (y - y0[..., None]) * ((x1 - x0) / torch.where(y1 == y0, 1.0, y1 - y0))[..., None]
    crossings = spans[..., None] & (rows[None, None, None, :] < x_at[..., None])  # (B, E, h, w)
    inside = (crossings.sum(dim=1, keepdim=True) % 2).to(torch.float32)
    return F.interpolate(inside, size=(size, size), mode="bilinear")


def _drawn(landmarks: torch.Tensor, triangles: Constant, size: int) -> torch.Tensor:
    low = size // _STRIDE
    scale = low / size
    corners = ((landmarks + 0.5) * scale - 0.5)[:, triangles.on(landmarks.device)]
    covered = (rasterize(corners, low, low)[0] >= 0).to(torch.float32)
    return F.interpolate(covered[:, None], size=(size, size), mode="bilinear")
