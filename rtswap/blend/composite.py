"""The composite step shared by all engines: swapped crop -> change to paste into the frame."""

from __future__ import annotations

import math

import torch

from rtswap.blend.color import transfer_color
from rtswap.blend.mask import blur, close_small_gaps, dilate, soft_erode
from rtswap.blend.pyramid import multiband_change


def composite(
    target: torch.Tensor, swapped: torch.Tensor, coverage: torch.Tensor, levels_fewer: int = 0
) -> torch.Tensor:
    """Blend swapped faces into their target crops and return the change to paste back.

    target, swapped: (B, 3, S, S) RGB [0, 1] aligned crops; coverage: (B, 1, S, S) in [0, 1], where
    the engine produced face pixels (for ``warp``: the mesh, open mouth excluded).
    Returns (B, 3, S, S): blended − target, weighted by a feathered paste mask, zero far from the face.
    ``levels_fewer`` leaves that many of the coarsest pyramid levels out of the blend (cheaper).
    """
    size = target.shape[-1]
    solid = close_small_gaps(coverage, gap_px=max(3, size // 40))
    mask = soft_erode(solid, radius_px=max(1, size // 256))
    matched = transfer_color(swapped, target, mask)
    filled = torch.where(coverage > 0.5, matched, target)
    change = multiband_change(filled - target, mask, levels=max(2, int(math.log2(size)) - 3 - levels_fewer))
    paste_alpha = blur(dilate(solid, max(1, size // 40)), max(1, size // 64))
    return change * paste_alpha
