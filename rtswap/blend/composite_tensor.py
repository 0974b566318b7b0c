"""The composite in tensor operations, on any device (what runs on CUDA)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.blend.color import transfer_color
from rtswap.blend.mask import blur, close_small_gaps, dilate, soft_erode
from rtswap.blend.pyramid import multiband_change
from rtswap.blend.sizes import BlendSizes


def composite_tensor(
    target: torch.Tensor,
    swapped: torch.Tensor,
    coverage: torch.Tensor,
    eyes: torch.Tensor,
    levels_fewer: int = 0,
) -> torch.Tensor:
    """:func:`composite` in tensor operations, on any device."""
    sizes = BlendSizes.of(target.shape[-1], levels_fewer)
    solid_half = close_small_gaps(F.avg_pool2d(coverage, 2), gap_px=sizes.gap_half)
    mask = soft_erode(_double(solid_half), radius_px=sizes.erode)
    matched = transfer_color(swapped, target, mask, eyes)
    filled = torch.where(coverage > 0.5, matched, target)
    change = multiband_change(filled - target, mask, levels=sizes.levels)
    paste_alpha = _double(blur(dilate(solid_half, sizes.dilate_half), sizes.blur_half))
    return change * paste_alpha


def _double(mask: torch.Tensor) -> torch.Tensor:
    return F.interpolate(mask, scale_factor=2, mode="bilinear", align_corners=False)
