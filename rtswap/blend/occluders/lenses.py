"""Whether a face's eyes show through what is in front of them: dark glasses hide them, clear ones
do not. The skin model never takes an eye for an occluder, and a face parser's glasses (labelled
whole, lenses and all) over eyes are read as the eyes, only where the eyes show."""

from __future__ import annotations

import torch

from rtswap.device import Constant
from rtswap.geometry.align import sample
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE

CLEAR = 0.32
"""The eyes show when the brightest tenth of their openings (their whites) is at least this
fraction of the skin's luma: the skin model's light at the eyes, or the upper quartile of what a
face parser calls skin on the mesh beyond the lenses' reach. On 256 and 128 px crops, by the skin
model: the astronaut's eyes and the demo's 0.79-0.88, under every cover of
``tests/blend/test_half_covered.py`` too; Grace Hopper's, narrow and dark behind clear lenses,
0.39-0.55; behind drawn sunglasses (85% dark) 0.16-0.21; behind drawn lenses half dark, the
astronaut's 0.43-0.49 (seen), Grace Hopper's 0.27-0.28 (hidden). By parser replicas that label her
glasses (and call all else skin): Grace Hopper's 0.44-0.53, behind drawn sunglasses 0.20-0.25
(hers and the astronaut's)."""

LUMA = Constant([0.299, 0.587, 0.114])
"""The luma of gamma-encoded RGB (BT.601), as the skin model's YCbCr has it."""

_OUT_FROM_THE_IRIS = Constant([0.2, 0.4, 0.6, 0.8])
_OPENINGS = Constant(
    [[centre, v] for centre, hole in ((LEFT_IRIS, LEFT_EYE_HOLE), (RIGHT_IRIS, RIGHT_EYE_HOLE)) for v in hole]
)
"""The eyes' openings, sampled on the way from each iris's centre to each point of its eye's rim."""


def eyes_show(luma: torch.Tensor, landmarks: torch.Tensor, skin: torch.Tensor) -> torch.Tensor:
    """(B,) bool: whether each face's eyes show (:data:`CLEAR`). luma: (B, 1, H, W) in [0, 1];
    landmarks: (B, 478, 2) in its pixels; skin: (B,), the skin's luma (NaN if unknown: the eyes
    then count as showing). Sampled at a hundred-odd points, not over the crop."""
    pairs = landmarks[:, _OPENINGS.on(landmarks.device)]  # (B, P, 2, 2)
    along = _OUT_FROM_THE_IRIS.like(landmarks)[None, None, :, None]
    inside = pairs[:, :, None, 0] + along * (pairs[:, :, None, 1] - pairs[:, :, None, 0])  # (B, P, 4, 2)
    whites = sample(luma, inside).flatten(1).quantile(0.9, dim=1)
    return ~(whites < CLEAR * skin)
