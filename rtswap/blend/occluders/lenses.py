"""Whether a face's eyes show through what is in front of them: dark glasses hide them, clear ones
do not. The skin model never takes an eye for an occluder, and a face parser's glasses (labelled
whole, lenses and all) over eyes are read as the eyes, only where the eyes show."""

from __future__ import annotations

import torch

from rtswap.blend.color import LUMA
from rtswap.blend.face_mask import AROUND_THE_EYES
from rtswap.device import Constant
from rtswap.geometry.align import sample
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE

_CLEAR = 0.32
"""The eyes show when the brightest tenth of their openings (their whites) is at least this fraction
of the skin's luma: the skin model's light at the eyes, or elsewhere :func:`face_luma` (the upper
quartile of the mesh beyond the lenses' reach, where a face parser calls it skin). On 256 and 128 px
crops, by the skin model: the astronaut's eyes and the demo's 0.79-0.88, under every cover of
``tests/blend/test_half_covered.py`` too; Grace Hopper's, narrow and dark behind clear lenses,
0.39-0.55; behind drawn sunglasses (85% dark) 0.16-0.21; behind drawn lenses half dark, the
astronaut's 0.43-0.49 (seen), Grace Hopper's 0.27-0.28 (hidden). By parser replicas that label her
glasses (and call all else skin): Grace Hopper's 0.44-0.53, behind drawn sunglasses 0.20-0.25 (hers
and the astronaut's). By :func:`face_luma` alone (a source's, to warn): the astronaut's and the
demo's 0.91-0.98, Grace Hopper's 0.52, behind drawn sunglasses 0.20-0.25."""

_SPREAD = 0.2
"""...and the spread of their openings (their brightest tenth less their darkest: the whites
against the irises and lashes) is at least this fraction of the skin's luma: dark glasses shrink
it with everything behind them. The whites' ratio alone is skin-deep: against a darker skin they
stand out more (the darker-skinned astronaut's eyes 1.45-1.53 of her skin's luma, and behind drawn
sunglasses 0.37, past :data:`_CLEAR`), and her dark glasses let her swapped eyes through. The
spread, in the same order: 0.88-1.04, behind sunglasses 0.13; the astronaut's 0.57-0.59 (0.30
behind the half-dark pair, 0.09 behind sunglasses; 0.26 at the height of a blink on the demo clip),
Grace Hopper's 0.28-0.35 (0.07 behind sunglasses). By :func:`face_luma` (a source's): 1.29, the
astronaut's 0.74, Grace Hopper's 0.41; behind drawn sunglasses 0.19, 0.11 and 0.08."""

_TENTHS = Constant([0.1, 0.9])
_OUT_FROM_THE_IRIS = Constant([0.2, 0.4, 0.6, 0.8])
_OPENINGS = Constant(
    [[centre, v] for centre, hole in ((LEFT_IRIS, LEFT_EYE_HOLE), (RIGHT_IRIS, RIGHT_EYE_HOLE)) for v in hole]
)
"""The eyes' openings, sampled on the way from each iris's centre to each point of its eye's rim."""
_AWAY_FROM_THE_EYES = Constant(sorted(set(range(LEFT_IRIS)) - AROUND_THE_EYES))
"""The face mesh's points beyond a lens's reach (the irises' points aside)."""


def eyes_show(luma: torch.Tensor, landmarks: torch.Tensor, skin: torch.Tensor) -> torch.Tensor:
    """(B,) bool: whether each face's eyes show (:data:`_CLEAR`, :data:`_SPREAD`). luma: (B, 1,
    H, W) in [0, 1]; landmarks: (B, 478, 2) in its pixels; skin: (B,), the skin's luma (NaN if
    unknown: the eyes then count as showing). Sampled at a hundred-odd points, not over the crop."""
    pairs = landmarks[:, _OPENINGS.on(landmarks.device)]  # (B, P, 2, 2)
    along = _OUT_FROM_THE_IRIS.like(landmarks)[None, None, :, None]
    inside = pairs[:, :, None, 0] + along * (pairs[:, :, None, 1] - pairs[:, :, None, 0])  # (B, P, 4, 2)
    darkest, whites = sample(luma, inside).flatten(1).quantile(_TENTHS.like(luma), dim=1)
    return ~((whites < _CLEAR * skin) | (whites - darkest < _SPREAD * skin))


def face_luma(luma: torch.Tensor, landmarks: torch.Tensor, skin: torch.Tensor | None = None) -> torch.Tensor:
    """(B,): the skin's luma, without a skin model: the upper quartile (the skin in the light, not
    the shade under the brows and the nose) of ``luma`` (B, 1, H, W) at the face mesh's points
    beyond the lenses' reach, where ``skin`` (B, 1, H, W) bool, if given, says skin (a face
    parser's skin class alone takes in the neck, the ears, a background it is unsure of). NaN
    where no point is skin."""
    height, width = luma.shape[-2:]
    at = landmarks[:, _AWAY_FROM_THE_EYES.on(landmarks.device)].round().long()
    flat = at[..., 1].clamp(0, height - 1) * width + at[..., 0].clamp(0, width - 1)  # (B, N)
    there = luma.flatten(1).gather(1, flat)
    if skin is not None:
        there = there.masked_fill(~skin.flatten(1).gather(1, flat), torch.nan)
    return there.nanquantile(0.75, dim=1)


def luma(crops: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S): the luma of (B, 3, S, S) RGB crops, as the skin model reads it."""
    return torch.einsum("c,bchw->bhw", LUMA.like(crops), crops)[:, None]
