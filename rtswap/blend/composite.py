"""The composite step shared by all engines: swapped crop -> change to paste into the frame.

One algorithm, two implementations: tensor operations (any device; what runs on CUDA), and
OpenCV for tensors on the CPU (``composite_cpu``), whose SIMD kernels work on all channels of a
pixel at once and do not pay PyTorch's per-operation cost on small images: the pyramid, colour
conversion and mask filters are 5-15x faster there. Both take every size from :class:`BlendSizes`,
and a test checks that they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from rtswap.blend.color import transfer_color
from rtswap.blend.mask import blur, close_small_gaps, dilate, soft_erode
from rtswap.blend.pyramid import multiband_change


@dataclass(frozen=True)
class BlendSizes:
    """The composite's sizes for a crop. The masks' shapes are smooth at the scale of a pixel, so
    their morphology and blurs run at half the crop's resolution (a quarter of the work)."""

    gap_half: int
    """Holes in the coverage narrower than this (at half resolution) are filled: a closed mouth's
    lip line, not an open mouth."""
    erode: int
    """The blend mask fades to zero over this many pixels inside the face's edge."""
    dilate_half: int
    blur_half: int
    """The paste mask: the face dilated by this, then blurred by that (half resolution)."""
    levels: int
    """Pyramid levels of the multi-band blend."""

    @classmethod
    def of(cls, size: int, levels_fewer: int = 0) -> BlendSizes:
        return cls(
            gap_half=max(3, size // 80),
            erode=max(1, size // 256),
            dilate_half=max(1, size // 80),
            blur_half=max(1, size // 128),
            levels=max(2, int(math.log2(size)) - 3 - levels_fewer),
        )


def composite(
    target: torch.Tensor, swapped: torch.Tensor, coverage: torch.Tensor, levels_fewer: int = 0
) -> torch.Tensor:
    """Blend swapped faces into their target crops and return the change to paste back.

    target, swapped: (B, 3, S, S) RGB [0, 1] aligned crops; coverage: (B, 1, S, S) in [0, 1], where
    the engine produced face pixels (for ``warp``: the mesh, open mouth excluded).
    Returns (B, 3, S, S): blended − target, weighted by a feathered paste mask, zero far from the face.
    ``levels_fewer`` leaves that many of the coarsest pyramid levels out of the blend (cheaper).
    """
    if target.device.type == "cpu":
        from rtswap.blend.composite_cpu import composite_cpu

        return composite_cpu(target, swapped, coverage, levels_fewer)
    return composite_tensor(target, swapped, coverage, levels_fewer)


def composite_tensor(
    target: torch.Tensor, swapped: torch.Tensor, coverage: torch.Tensor, levels_fewer: int = 0
) -> torch.Tensor:
    """:func:`composite` in tensor operations, on any device."""
    sizes = BlendSizes.of(target.shape[-1], levels_fewer)
    solid_half = close_small_gaps(F.avg_pool2d(coverage, 2), gap_px=sizes.gap_half)
    mask = soft_erode(_double(solid_half), radius_px=sizes.erode)
    matched = transfer_color(swapped, target, mask)
    filled = torch.where(coverage > 0.5, matched, target)
    change = multiband_change(filled - target, mask, levels=sizes.levels)
    paste_alpha = _double(blur(dilate(solid_half, sizes.dilate_half), sizes.blur_half))
    return change * paste_alpha


def _double(mask: torch.Tensor) -> torch.Tensor:
    return F.interpolate(mask, scale_factor=2, mode="bilinear", align_corners=False)
