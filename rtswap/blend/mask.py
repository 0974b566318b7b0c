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


def soft_erode(mask: torch.Tensor, radius_px: int, iterations: int = 2, threshold: float = 0.6) -> torch.Tensor:
    """Mask that is 1 well inside and fades to 0 at the boundary (SimSwap/MegaFS soft erosion).

    A cone-shaped kernel; ``x = min(x, conv(x))`` repeated, one more convolution, then values at
    or above ``threshold`` become 1 and the rest scale linearly up to it.
    """
    k = 2 * radius_px + 1
    r = torch.arange(k, dtype=mask.dtype, device=mask.device) - radius_px
    dist = torch.sqrt(r[:, None] ** 2 + r[None, :] ** 2)
    cone = (dist.max() - dist)
    cone = (cone / cone.sum())[None, None]
    x = mask
    for _ in range(iterations - 1):
        x = torch.minimum(x, F.conv2d(x, cone, padding=radius_px))
    x = F.conv2d(x, cone, padding=radius_px)
    return (x / threshold).clamp(max=1.0)
