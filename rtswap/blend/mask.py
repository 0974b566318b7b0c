"""Soft face masks in crop space.

Morphology and box blurs are separable and computed as 2r+1 shifted views combined elementwise:
on CPU that is much faster than ``max_pool2d``/``avg_pool2d`` with stride 1 (docs/speed.md), and
it runs unchanged on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F


def _slide(
    x: torch.Tensor, radius: int, combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], **pad: Any
) -> torch.Tensor:
    """Combine each pixel with its ``radius`` neighbours along rows, then along columns."""
    for dim, padding in ((3, (radius, radius, 0, 0)), (2, (0, 0, radius, radius))):
        padded = F.pad(x, padding, **pad)
        n = x.shape[dim]
        out = padded.narrow(dim, 0, n)
        for offset in range(1, 2 * radius + 1):
            out = combine(out, padded.narrow(dim, offset, n))
        x = out
    return x


def dilate(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Maximum over the (2r+1)² square around each pixel. mask: (B, 1, H, W)."""
    return _slide(mask, radius_px, torch.maximum, value=float("-inf"))


def erode(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Minimum over the (2r+1)² square around each pixel."""
    return _slide(mask, radius_px, torch.minimum, value=float("inf"))


def close_small_gaps(mask: torch.Tensor, gap_px: int) -> torch.Tensor:
    """Morphological closing: fills holes narrower than ``gap_px`` (a closed mouth's lip line),
    keeps larger ones (an open mouth). mask: (B, 1, H, W) in [0, 1]."""
    radius = gap_px // 2
    return erode(dilate(mask, radius), radius)


def blur(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Box blur applied twice (close to a Gaussian), same size out, edges replicated."""
    for _ in range(2):
        mask = _slide(mask, radius_px, torch.add, mode="replicate") / (2 * radius_px + 1) ** 2
    return mask


def soft_erode(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Mask that is 1 well inside and fades to 0 at the boundary.

    A hard erosion by ``radius_px`` then a box blur over the pixels less than ``radius_px`` away
    (the support of the cone kernel SimSwap and MegaFS use, but separable): 0 at and outside the
    original boundary, 1 from ``2 * radius_px - 1`` inside it, a linear ramp in between.
    (SimSwap's min-then-convolve recipe leaves ~0.75 at the boundary and spreads outward, which
    is not what a paste mask wants.)
    """
    reach = radius_px - 1
    return _slide(erode(mask, radius_px), reach, torch.add, mode="replicate") / (2 * reach + 1) ** 2


def feathered_box(like: torch.Tensor) -> torch.Tensor:
    """The whole aligned crop as a mask (``--mask box``), shaped as ``like`` (B, 1, S, S): 1 inside,
    falling to 0 over the crop's outer sixteenth."""
    size = like.shape[-1]
    position = torch.arange(size, device=like.device, dtype=like.dtype)
    ramp = (torch.minimum(position, size - 1 - position) / (size / 16)).clamp(0, 1)
    return (ramp[:, None] * ramp[None, :]).expand_as(like)
