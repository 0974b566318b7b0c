"""Pixels that cover a face: hair over the forehead, glasses frames, a hand, a microphone.

Peers find them with face-parsing networks (XSeg, BiSeNet); no such model ships with what we
depend on, so this is classical: a skin model fitted per face and frame, and what is not skin and
comes into the face from outside it is an occluder. On the target, occluders stay on top of the
swap; on a source, they are left out of the texture.

The skin model, on YCbCr of the gamma-encoded crop at half resolution, sampled on the cheeks
(below a glasses rim, inside the jaw and the hair, away from a hand over the mouth) and between
the brows: chroma is a median and a median absolute deviation; luma, which follows the light, is
a plane over the face fitted to the samples (refitted without outliers). A pixel is not skin
where its chroma is more than ``_CHROMA_LIMIT`` deviations away (twice that if it is brighter
than the skin: a highlight is pale) or its luma below ``_DARK_RATIO`` of the plane's.
Exceptions, by landmarks: the eyes and nostrils are never occluders; on the lips only darkness
counts (a hand, not lipstick); in the eyebrows only what is far darker than a brow (a frame's
bar); along the jaw only what is wide (a hand, not the shadow under the chin). Last, only what is
connected to the face's outline counts: hair, a frame's arms and a hand come in from outside; a
shadow or a mole inside does not.

How it fails: an occluder of the face's own colour and brightness is not found (a hand of the
same skin is found by shape, :mod:`rtswap.detect.hands`); glasses without visible arms are
missed where nothing else reaches the outline; frames of a skin-like tint are missed (their rims
are found by shape, :mod:`rtswap.blend.occluders.rims`); a hand over the eyes is missed there; deep
shadow reaching the outline under hard side light is taken for an occluder.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
import torch.nn.functional as F

from rtswap.blend.mask import blur, dilate, erode
from rtswap.device import Constant
from rtswap.geometry.align import to_sampling_grid
from rtswap.geometry.landmarks import CHIN
from rtswap.geometry.mediapipe_files import face_mesh_connections
from rtswap.geometry.topology import FACE_OVAL

fmc = face_mesh_connections()

_RGB_TO_YCC = Constant([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_SKIN_SAMPLES = Constant([36, 50, 101, 187, 205] + [266, 280, 330, 411, 425] + [9])
"""Both cheeks and the bottom of the forehead, between the brows."""
_AROUND = Constant([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)], torch.float32)
"""Each sample's 3x3 neighbourhood."""
_CHROMA_LIMIT = 6.0
"""Chroma more than this many deviations from the skin's is not skin..."""
_BRIGHT_CHROMA_LIMIT = 12.0
"""...or this many where the pixel is brighter than the skin (a highlight is pale)."""
_MIN_CHROMA_SPREAD = 0.008
"""Floor of the skin's chroma deviation (of [0, 1] values): on a very even face, a small
difference must not count."""
_DARK_RATIO = 0.65
"""Luma below this fraction of the skin's (the ramp's, at that pixel) is not skin."""
_BLACK_RATIO = 0.3
"""In the eyebrows, luma below this fraction of the skin's is not a brow."""
_RAMP = 0.25
"""A score goes from 0 at a limit to 1 this far beyond it (relative)."""


def _edges(*connections: Iterable[tuple[int, int]]) -> Constant:
    return Constant(sorted(set(itertools.chain(*connections))))


_NEVER = _edges(
    fmc.FACEMESH_LEFT_EYE,
    fmc.FACEMESH_RIGHT_EYE,
    fmc.FACEMESH_IRISES,
    [(2, 97), (97, 98), (98, 64), (2, 326), (326, 327), (327, 294), (99, 240), (328, 460)],  # nostrils
)
_LIPS = _edges(fmc.FACEMESH_LIPS)
_BROWS = _edges(fmc.FACEMESH_LEFT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW)
_OUTLINE = _edges(fmc.FACEMESH_FACE_OVAL)
_JAW_VERTICES = [FACE_OVAL[(FACE_OVAL.index(CHIN) + k) % len(FACE_OVAL)] for k in range(-8, 9)]
_JAW = Constant(list(zip(_JAW_VERTICES[:-1], _JAW_VERTICES[1:], strict=True)))
"""The outline from one corner of the jaw round the chin to the other."""


def occluders(crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S) float in [0, 1]: 1 where something covers the face in each aligned crop.

    crops: (B, 3, S, S) RGB [0, 1]; landmarks: (B, 478, 2) in crop pixels; face: (B, 1, S, S), the
    face's region (the engine's mask), which separates the chin from the neck.
    """
    size = crops.shape[-1] // 2
    half = (crops[..., ::2, ::2] + crops[..., 1::2, ::2] + crops[..., ::2, 1::2] + crops[..., 1::2, 1::2]) / 4
    ycc = torch.einsum("ij,bjhw->bihw", _RGB_TO_YCC.like(half), half)
    points = landmarks / 2
    skin_luma, chroma_centre, chroma_spread = _skin_model(ycc, points)
    chroma = ((ycc[:, 1:] - chroma_centre) / chroma_spread).pow(2).sum(dim=1, keepdim=True).sqrt()
    darker = 1 - ycc[:, :1] / (_DARK_RATIO * skin_luma)
    blacker = 1 - ycc[:, :1] / (_BLACK_RATIO * skin_luma)
    # a specular highlight is pale, so far from the skin's chroma, but brighter than the skin
    chroma_limit = torch.where(ycc[:, :1] > skin_luma, _BRIGHT_CHROMA_LIMIT, _CHROMA_LIMIT)
    beyond = torch.maximum(chroma / chroma_limit - 1, darker)  # > 0: not skin
    fine = max(1, size // 64)
    lips, never = _coarse_bands(points, [_LIPS, _NEVER], size, fine).unbind(1)
    brows, jaw = _coarse_bands(points, [_BROWS, _JAW], size, max(2, size // 32)).unbind(1)
    beyond = torch.where(lips[:, None] > 0, darker, beyond)
    beyond = torch.where(brows[:, None] > 0, blacker, beyond)
    score = (beyond * (1 - never[:, None]) / _RAMP).clamp(0, 1)
    opened = dilate(erode(score * face[..., ::2, ::2], fine), fine)
    score = torch.where(jaw[:, None] > 0, opened, score)
    score = score * _reached_from_outline(score, points)
    return F.interpolate(blur(dilate(score, 1), 1), scale_factor=2, mode="bilinear", align_corners=False)


def _skin_model(ycc: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Skin luma as a plane over the face (B, 1, h, w), chroma centre and spread (B, 2, 1, 1),
    from the skin landmarks' 3x3 neighbourhoods."""
    where = points[:, _SKIN_SAMPLES.on(points.device), None, :] + _AROUND.like(points)
    where = where.flatten(1, 2)  # (B, N, 2)
    h, w = ycc.shape[-2:]
    grid = to_sampling_grid(where, h, w)
    samples = F.grid_sample(ycc, grid[:, None], mode="nearest", align_corners=False)[:, :, 0]  # (B, 3, N)
    chroma_centre = samples[:, 1:].median(dim=2).values
    chroma_spread = (samples[:, 1:] - chroma_centre[..., None]).abs().median(dim=2).values * 1.4826
    chroma_spread = chroma_spread.clamp(min=_MIN_CHROMA_SPREAD)
    design = torch.cat([torch.ones_like(where[..., :1]), where / w], dim=-1)  # (B, N, 3)
    luma = samples[:, 0, :, None]
    coeffs = _least_squares(design, luma)
    residual = (design @ coeffs - luma).abs()
    keep = residual <= 2.5 * 1.4826 * residual.median(dim=1, keepdim=True).values
    coeffs = _least_squares(design * keep, luma * keep)  # (B, 3, 1)
    xs = torch.arange(w, dtype=ycc.dtype, device=ycc.device) / w
    ys = torch.arange(h, dtype=ycc.dtype, device=ycc.device)[:, None] / w
    skin_luma = (
        coeffs[:, 0, :, None, None] + coeffs[:, 1, :, None, None] * xs + coeffs[:, 2, :, None, None] * ys
    )
    return skin_luma, chroma_centre[..., None, None], chroma_spread[..., None, None]


def _least_squares(design: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The (B, 3, 1) plane coefficients that best fit ``values`` (B, N, 1) over ``design``
    (B, N, 3), by the normal equations: a 3x3 solve that never makes the host wait for the device
    (``linalg.lstsq`` and ``linalg.solve`` check their result on the host)."""
    normal = design.mT @ design + 1e-6 * torch.eye(3, dtype=design.dtype, device=design.device)
    return torch.linalg.solve_ex(normal, design.mT @ values).result


def _reached_from_outline(score: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """How strongly each pixel is connected to the outline through ``score`` (grey-level
    reconstruction from the outline), at a quarter of ``score``'s resolution (max-pooled, so a
    thin frame stays connected), upsampled."""
    small = F.max_pool2d(score, 4)
    size = small.shape[-1]
    reach = small * _bands(points / 4, [_OUTLINE], size, 1)
    for _ in range(size // 2):  # enough steps to reach the middle of the face from its outline
        reach = torch.minimum(F.max_pool2d(reach, 3, stride=1, padding=1), small)
    return F.interpolate(reach, scale_factor=4, mode="nearest")


def _coarse_bands(points: torch.Tensor, polylines: list[Constant], size: int, radius: int) -> torch.Tensor:
    """:func:`_bands`, drawn at half of ``size`` and doubled (zones need no finer edge)."""
    half = _bands(points / 2, polylines, size // 2, max(1, radius // 2))
    return F.interpolate(half, scale_factor=2, mode="nearest")


def _bands(points: torch.Tensor, polylines: list[Constant], size: int, radius: int) -> torch.Tensor:
    """(B, K, size, size): channel k is 1 within ``radius`` pixels of ``polylines[k]``, edges as
    landmark index pairs, each edge drawn as five points."""
    zones = points.new_zeros(len(points), len(polylines), size * size + 1)  # + 1: off the image
    steps = torch.linspace(0.0, 1.0, 5, device=points.device, dtype=points.dtype)[None, None, :, None]
    for k, edges in enumerate(polylines):
        index = edges.on(points.device)
        a, b = points[:, index[:, 0]], points[:, index[:, 1]]  # (B, E, 2)
        along = (a[:, :, None] + steps * (b - a)[:, :, None]).flatten(1, 2).round().long()  # (B, E*5, 2)
        inside = ((along >= 0) & (along < size)).all(dim=-1)
        flat = torch.where(inside, along[..., 1] * size + along[..., 0], size * size)
        zones[:, k].scatter_(1, flat, 1.0)
    return dilate(zones[..., :-1].reshape(len(points), len(polylines), size, size), radius)
