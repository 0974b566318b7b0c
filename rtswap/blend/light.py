"""The target's light on the swapped face: the low frequencies of its luminance, half-way.

A source photo's shading comes with its texture: its light's direction, the dark side of its jaw,
the shadow under its nose. Pasted onto a target lit otherwise, a face lit from the left sits on a
head lit from the right. The light and the round of the head under it are the low frequencies of
the luminance; features (eyes, brows, lips, wrinkles) are higher. So both faces' luminance,
averaged within the face (what covers it left out: glasses, hair and hands are not its light) over
about a sixth of its height, gives each one's light (:func:`light_ratio`, a look: refreshed every
few frames of a track, off the frame path when live), and the swapped face is multiplied by the
ratio of the target's to its own, to the power :data:`SHARE`, scaled to keep the face's mean,
which the colour transfer set (:func:`relit`, every frame).

Half-way, not whole: with the whole ratio the swap's light followed the target's more closely
(correlation of the low frequencies 0.97-0.99 on our pairs), but the target's own face came through
with it (the shadows of its smile moved dlib's mouth by 0.012); half-way keeps each figure of the
quality gate and brings the light most of the way (docs/quality.md). Spherical harmonics of the
mesh's normals, the model a 3D fit would use, were tried first: fitted on every frame, they
flickered, and took more of the source's look by dlib than they gave in light. This needs no normals
and no fit. Work in the aligned crop, averaged at an eighth of its resolution (the light is smooth).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.blend.color import LUMA
from rtswap.blend.mask import blur

SHARE = 0.5
"""How much of the way from the swap's light to the target's."""
_SPREAD = 0.12
"""The averaging's radius, as a share of the crop (the face is about three quarters of it)."""
_LIMIT = 1.6
"""The ratio of the two lights is kept within this factor either way (before the share)."""


def light_ratio(target: torch.Tensor, swapped: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S): what to multiply the swapped face by, 1 off the face: the target's light over
    the swapped face's, to the power :data:`SHARE`, scaled to a mean of 1 over the face (which
    keeps the brightness the colour transfer gave it).

    target, swapped: (B, 3, S, S) RGB [0, 1] aligned crops; face: (B, 1, S, S) in [0, 1], where
    the swap shows (what covers the face left out)."""
    size = target.shape[-1]
    inside = (face > 0.5).to(target.dtype)
    weights = LUMA.like(target)[None, :, None, None]
    lights = [
        F.interpolate(_light((x * weights).sum(dim=1, keepdim=True), inside), size=size, mode="bilinear")
        for x in (target, swapped)
    ]
    ratio = (lights[0] / lights[1].clamp(min=1e-3)).clamp(1 / _LIMIT, _LIMIT) ** SHARE
    mean = (ratio * inside).sum(dim=(2, 3), keepdim=True) / inside.sum(dim=(2, 3), keepdim=True).clamp(min=1)
    return torch.where(inside > 0, ratio / mean.clamp(min=1e-6), 1.0)


def relit(swapped: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """``swapped`` (B, 3, S, S) RGB [0, 1] in the target's light: times ``ratio`` (:func:`light_ratio`)."""
    return (swapped * ratio).clamp(0, 1)


def _light(luma: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """(B, 1, s, s): ``luma`` averaged within ``inside`` at an eighth of the crop's resolution."""
    small = max(8, luma.shape[-1] // 8)
    radius = max(1, round(_SPREAD * small))
    total = blur(F.interpolate(luma * inside, size=small, mode="area"), radius)
    weight = blur(F.interpolate(inside, size=small, mode="area"), radius)
    return total / weight.clamp(min=1e-4)
