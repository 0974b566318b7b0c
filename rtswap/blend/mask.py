"""Soft face masks in crop space."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def close_small_gaps(mask: torch.Tensor, gap_px: int) -> torch.Tensor:
    """Morphological closing: fills holes narrower than ``gap_px`` (a closed mouth's lip line),
    keeps larger ones (an open mouth). mask: (B, 1, H, W) in [0, 1]."""
    k = 2 * (gap_px // 2) + 1
    dilated = F.max_pool2d(mask, k, stride=1, padding=k // 2)
    return -F.max_pool2d(-dilated, k, stride=1, padding=k // 2)


def dilate(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    k = 2 * radius_px + 1
    return F.max_pool2d(mask, k, stride=1, padding=radius_px)


def blur(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Box blur applied twice (close to a Gaussian), same size out."""
    k = 2 * radius_px + 1
    for _ in range(2):
        mask = F.avg_pool2d(F.pad(mask, (radius_px,) * 4, mode="replicate"), k, stride=1)
    return mask


def soft_erode(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Mask that is 1 well inside and fades to 0 at the boundary.

    A hard erosion by ``radius_px`` then one blur with a cone-shaped kernel of the same radius
    (the kernel SimSwap and MegaFS use): 0 at and outside the original boundary, 1 from
    ``2 * radius_px`` inside it, a smooth ramp in between. (SimSwap's min-then-convolve recipe
    leaves ~0.75 at the boundary and spreads outward, which is not what a paste mask wants.)
    """
    k = 2 * radius_px + 1
    r = torch.arange(k, dtype=mask.dtype, device=mask.device) - radius_px
    dist = torch.sqrt(r[:, None] ** 2 + r[None, :] ** 2)
    cone = (radius_px - dist).clamp(min=0)
    cone = (cone / cone.sum())[None, None]
    eroded = -F.max_pool2d(-mask, k, stride=1, padding=radius_px)
    return F.conv2d(eroded, cone, padding=radius_px)
