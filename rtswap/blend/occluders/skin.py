"""Pixels that cover a face: hair over the forehead, glasses frames, a hand, a mask, a scarf, a
microphone.

Peers find them with face-parsing networks (XSeg, BiSeNet); no such model ships with what we
depend on, so this is classical: a skin model fitted per face and frame, and what is not skin and
comes into the face from outside it is an occluder. On the target, occluders stay on top of the
swap; on a source, they are left out of the texture.

The skin model, on YCbCr of the gamma-encoded crop at half resolution, sampled all over the face
(both cheeks from under the eyes to the jaw, between the brows, down the nose) so that no one
occluder covers most of the samples; only samples of a skin-like colour count (a mask, a scarf of
a cool colour, a black or white cloth never teach the model what skin is), and of those the ones
around the densest spot of their chroma (not a patterned cloth's skin-like colours) and not too
dark to be skin by the model's own rule below (a frame's brown rim on a cheekbone): chroma is a
median and a median absolute deviation; luma, which follows the light, is a plane over the face
fitted to the samples (refitted without outliers). A pixel is not skin where its chroma is more
than ``_CHROMA_LIMIT`` deviations away (twice that if it is brighter than the skin and its
surroundings are skin-coloured: a highlight is pale, and small) or its luma below ``_DARK_RATIO``
of the plane's.
Exceptions, by landmarks: the eyes are never occluders, unless they do not show (dark glasses,
:mod:`rtswap.blend.occluders.lenses`); on the lips only darkness counts (a hand, not lipstick), and
in the nostrils only colour; in the eyebrows only what is far darker than a brow (a frame's bar);
along a target's jaw only what is wide (a hand, not the shadow under the chin). On a source the
shadow under the chin and the hair's under the ears are left out as well: they are its light, and
pasted they made a grey band along a target's chin and a patch at its jaw.
When most of the face below the nose is not skin, a mask or a scarf covers it whole: the lips and
nostrils under it are covered, and so is all of the lower face that has the cover's colour (its
side in shadow too) and the spots of a pattern on it. Last, only what is connected to the face's
outline counts: hair, a frame's arms, a hand and a mask come in from outside; a shadow or a mole
inside does not.

How it fails: an occluder of the face's own colour and brightness is not found (a hand of the
same skin is found by shape, :mod:`rtswap.detect.hands`); a cover of a skin-like colour over the
mouth is found only where it is darker than skin; glasses without visible arms are missed where
nothing else reaches the outline; frames of a skin-like tint are missed (their rims are found by
shape, :mod:`rtswap.blend.occluders.rims`); a hand over the eyes is missed there; deep shadow
reaching the outline under hard side light is taken for an occluder; a face lit in one strong
colour has no skin-like samples, and the model then takes all of them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable

import torch
import torch.nn.functional as F

from rtswap.blend.mask import blur, close_small_gaps, dilate, erode
from rtswap.blend.occluders.lenses import eyes_show
from rtswap.device import Constant
from rtswap.geometry.align import sample, to_sampling_grid
from rtswap.geometry.landmarks import CHIN, LEFT_IRIS, RIGHT_IRIS
from rtswap.geometry.mediapipe_files import face_mesh_connections
from rtswap.geometry.topology import FACE_OVAL

fmc = face_mesh_connections()

_RGB_TO_YCC = Constant([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_SKIN_SAMPLES = Constant(
    [36, 50, 101, 117, 187, 205] + [266, 280, 330, 346, 411, 425] + [9, 8, 168, 6, 195, 5]
)
"""Spread over the face, so that no one occluder covers most of them: both cheeks, from under the
eyes down to the jaw; between the brows, and down the nose. (Not higher on the forehead, which a
fringe covers as often as not, nor on the chin, whose shadow misleads the model of the light.)"""
_SKIN_LOCUS = ((0.02, 0.25), (-0.22, -0.01), 0.15)
"""Samples that can be skin: Cr and Cb within these ranges, and luma at least this (YCbCr of
[0, 1] values). Every skin tone under white or warm light is inside; a mask, a scarf of a cool colour,
a black or white cloth, a microphone are not, so they never teach the model what skin is."""
_CLUSTER_RADIUS = 0.03
"""The skin is the densest spot of the samples' chroma: the sample with the most others within
this distance, and those within twice it."""
_MIN_SKIN_SAMPLES = 18
"""With fewer skin-like samples (a face lit in one strong colour), the model takes them all."""
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


_EYES = _edges(fmc.FACEMESH_LEFT_EYE, fmc.FACEMESH_RIGHT_EYE, fmc.FACEMESH_IRISES)
_NOSTRILS = _edges([(2, 97), (97, 98), (98, 64), (2, 326), (326, 327), (327, 294), (99, 240), (328, 460)])
_NOSE_BOTTOM = 2
_COVERED_BELOW_NOSE = 0.5
"""When more than this share of the face below the nose is not skin, something covers it whole
(a mask, a scarf): the lips and nostrils under it are covered too, and so is whatever below
the nose has the cover's colour (its side in shadow, as dark as skin in shadow)..."""
_COVER_DEVIATIONS = 3.0
"""...within this many robust deviations of the cover's median colour, in every channel..."""
_MIN_COVER_SPREAD = 0.02
"""...the deviation taken as at least this (an evenly coloured cloth)."""
_LIPS = _edges(fmc.FACEMESH_LIPS)
_IRISES = Constant([LEFT_IRIS, RIGHT_IRIS])
_BROWS = _edges(fmc.FACEMESH_LEFT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW)
_OUTLINE = _edges(fmc.FACEMESH_FACE_OVAL)


_SOURCE_BAR = 0.5
"""On a source, in the brows, what the map finds covered by this much is covered whole. A frame's
top bar is about 5 px thick at a 256 px crop, and the map's blur left a fifth of it: Grace Hopper's
bar was drawn on every target as dark arcs and specks over the lids and brows."""


def _outline_round_chin(reach: int) -> Constant:
    """The outline's edges from ``reach`` vertices one side of the chin to ``reach`` the other."""
    vertices = [FACE_OVAL[(FACE_OVAL.index(CHIN) + k) % len(FACE_OVAL)] for k in range(-reach, reach + 1)]
    return Constant(list(zip(vertices[:-1], vertices[1:], strict=True)))


_JAW = _outline_round_chin(8)
"""The outline from one corner of the jaw (below the ear) round the chin to the other: on a
target, only what is wide there covers the face (a hand, not the shadow under the chin)."""


def occluders(
    crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor, *, source: bool = False
) -> torch.Tensor:
    """(B, 1, S, S) float in [0, 1]: 1 where something covers the face in each aligned crop.

    crops: (B, 3, S, S) RGB [0, 1]; landmarks: (B, 478, 2) in crop pixels; face: (B, 1, S, S), the
    face's region (the engine's mask), which separates the chin from the neck. ``source``: the
    crops are of a source: along its jaw a target's rule (only what is wide: :data:`_JAW`) does
    not hold, so its shadows there are left out of its texture too, and its brows' covers are
    whole (:data:`_SOURCE_BAR`).
    """
    size = crops.shape[-1] // 2
    half = (crops[..., ::2, ::2] + crops[..., 1::2, ::2] + crops[..., ::2, 1::2] + crops[..., 1::2, 1::2]) / 4
    ycc = torch.einsum("ij,bjhw->bihw", _RGB_TO_YCC.like(half), half)
    points = landmarks / 2
    skin_luma, chroma_centre, chroma_spread = _skin_model(ycc, points)
    chroma = ((ycc[:, 1:] - chroma_centre) / chroma_spread).pow(2).sum(dim=1, keepdim=True).sqrt()
    darker = 1 - ycc[:, :1] / (_DARK_RATIO * skin_luma)
    blacker = 1 - ycc[:, :1] / (_BLACK_RATIO * skin_luma)
    # a specular highlight is pale, so far from the skin's chroma, but brighter than the skin; and
    # small: where the region around is off the skin's chroma too, the brightness is a white cloth's
    highlight = (ycc[:, :1] > skin_luma) & (blur(chroma, max(1, size // 16)) < _CHROMA_LIMIT)
    chroma_limit = torch.where(highlight, _BRIGHT_CHROMA_LIMIT, _CHROMA_LIMIT)
    beyond = torch.maximum(chroma / chroma_limit - 1, darker)  # > 0: not skin
    fine = max(1, size // 64)
    lips, eyes, nostrils = _coarse_bands(points, [_LIPS, _EYES, _NOSTRILS], size, fine).unbind(1)
    brows, jaw = _coarse_bands(points, [_BROWS, _JAW], size, max(2, size // 32)).unbind(1)
    lower = _below_nose(face[..., ::2, ::2], points)
    covered = _covered(beyond > 0, lower)  # (B, 1, 1, 1)
    # covered whole: what looks like the cover, all over the lower face, is the cover (its shaded
    # side, where it is as dark as skin in shadow, too)
    like_cover = _like(ycc, (beyond > 0) & (lower > 0))
    beyond = torch.where(covered & (lower > 0) & like_cover, beyond.clamp(min=_RAMP), beyond)
    beyond = torch.where((lips[:, None] > 0) & ~covered, darker, beyond)
    beyond = torch.where((nostrils[:, None] > 0) & ~covered, chroma / chroma_limit - 1, beyond)
    at_the_eyes = sample(skin_luma, points[:, None, _IRISES.on(points.device)]).flatten(1).mean(dim=1)
    never = eyes * eyes_show(ycc[:, :1], points, at_the_eyes).view(-1, 1, 1)  # (not behind dark glasses)
    beyond = torch.where(brows[:, None] > 0, blacker, beyond)
    score = (beyond * (1 - never[:, None]) / _RAMP).clamp(0, 1)
    if not source:
        opened = dilate(erode(score * face[..., ::2, ::2], fine), fine)
        score = torch.where(jaw[:, None] > 0, opened, score)
    # a covered face's cover is whole: the spots of a pattern on it are the cover too
    whole = close_small_gaps(score, gap_px=2 * max(1, size // 32)) * lower
    score = torch.where(covered, torch.maximum(score, whole), score)
    score = score * _reached_from_outline(score, points)
    soft = blur(dilate(score, 1), 1)
    if source:  # what is left out of a texture is left out whole (_SOURCE_BAR)
        soft = torch.where((brows[:, None] > 0) & (soft >= _SOURCE_BAR), 1.0, soft)
    return F.interpolate(soft, scale_factor=2, mode="bilinear", align_corners=False)


def _below_nose(face: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w): each face's region below its nose (the crop is upright, so "below" is
    further down its rows)."""
    rows = torch.arange(face.shape[-2], device=face.device, dtype=face.dtype)[:, None]
    return face * (rows > points[:, _NOSE_BOTTOM, 1, None, None, None])


def _covered(not_skin: torch.Tensor, lower: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1): whether most of each face's ``lower`` region is not skin."""
    share = (not_skin * lower).sum(dim=(1, 2, 3)) / lower.sum(dim=(1, 2, 3)).clamp(min=1)
    return (share > _COVERED_BELOW_NOSE)[:, None, None, None]


def _like(ycc: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """(B, 1, h, w): pixels whose colour is within ``_COVER_DEVIATIONS`` robust deviations of the
    colour of ``region`` (B, 1, h, w), in every channel."""
    values = ycc.flatten(2).masked_fill(~region.flatten(2), torch.nan)  # (B, 3, h*w)
    centre = values.nanmedian(dim=2).values[..., None, None]
    spread = (ycc.flatten(2) - centre[..., 0]).abs().masked_fill(~region.flatten(2), torch.nan)
    spread = (spread.nanmedian(dim=2).values * 1.4826).clamp(min=_MIN_COVER_SPREAD)[..., None, None]
    return ((ycc - centre).abs() <= _COVER_DEVIATIONS * spread).all(dim=1, keepdim=True)


def _skin_model(ycc: torch.Tensor, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Skin luma as a plane over the face (B, 1, h, w), chroma centre and spread (B, 2, 1, 1),
    from the skin landmarks' 3x3 neighbourhoods."""
    where = points[:, _SKIN_SAMPLES.on(points.device), None, :] + _AROUND.like(points)
    where = where.flatten(1, 2)  # (B, N, 2)
    h, w = ycc.shape[-2:]
    grid = to_sampling_grid(where, h, w)
    samples = F.grid_sample(ycc, grid[:, None], mode="nearest", align_corners=False)[:, :, 0]  # (B, 3, N)
    (min_cr, max_cr), (min_cb, max_cb), min_luma = _SKIN_LOCUS
    cb, cr = samples[:, 1], samples[:, 2]
    skin = (cr >= min_cr) & (cr <= max_cr) & (cb >= min_cb) & (cb <= max_cb) & (samples[:, 0] >= min_luma)
    skin |= skin.sum(dim=1, keepdim=True) < _MIN_SKIN_SAMPLES
    skin &= _densest(samples[:, 1:], skin)
    # what the model would call too dark to be skin teaches it nothing (a frame's brown rim on a
    # cheekbone sample pulled the light at the brows down by a third)
    median_luma = samples[:, 0].masked_fill(~skin, torch.nan).nanmedian(dim=1, keepdim=True).values
    skin &= samples[:, 0] >= _DARK_RATIO * median_luma
    chroma = samples[:, 1:].masked_fill(~skin[:, None], torch.nan)
    chroma_centre = chroma.nanmedian(dim=2).values
    chroma_spread = (chroma - chroma_centre[..., None]).abs().nanmedian(dim=2).values * 1.4826
    chroma_spread = chroma_spread.clamp(min=_MIN_CHROMA_SPREAD)
    design = torch.cat([torch.ones_like(where[..., :1]), where / w], dim=-1)  # (B, N, 3)
    luma, weight = samples[:, 0, :, None], skin[..., None].to(samples.dtype)
    coeffs = _least_squares(design * weight, luma * weight)
    residual = (design @ coeffs - luma).abs().masked_fill(~skin[..., None], torch.nan)
    keep = weight * (residual <= 2.5 * 1.4826 * residual.nanmedian(dim=1, keepdim=True).values)
    coeffs = _least_squares(design * keep, luma * keep)  # (B, 3, 1)
    xs = torch.arange(w, dtype=ycc.dtype, device=ycc.device) / w
    ys = torch.arange(h, dtype=ycc.dtype, device=ycc.device)[:, None] / w
    skin_luma = (
        coeffs[:, 0, :, None, None] + coeffs[:, 1, :, None, None] * xs + coeffs[:, 2, :, None, None] * ys
    )
    return skin_luma, chroma_centre[..., None, None], chroma_spread[..., None, None]


def _densest(chroma: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """(B, N): the ``candidates`` (B, N) among the samples' ``chroma`` (B, 2, N) that lie near the
    densest spot of them: the skin, not a patterned cloth's colours that also look like skin."""
    apart = torch.cdist(chroma.mT, chroma.mT)  # (B, N, N)
    near = apart <= _CLUSTER_RADIUS
    neighbours = (near & candidates[:, None, :]).sum(dim=2).masked_fill(~candidates, -1)
    centre = neighbours.argmax(dim=1)  # (B,)
    return apart.gather(1, centre[:, None, None].expand(-1, 1, apart.shape[2]))[:, 0] <= 2 * _CLUSTER_RADIUS


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
