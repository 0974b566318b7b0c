"""Colour transfer in CIE Lab (Reinhard et al. 2001), restricted to a face mask."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.device import Constant

_RGB_TO_XYZ = Constant(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_XYZ_TO_RGB = Constant(torch.linalg.inv(_RGB_TO_XYZ.cpu))
_WHITE = Constant([0.950456, 1.0, 1.088754])
LUMA = Constant([0.299, 0.587, 0.114])
"""Rec. 601 luma weights of R, G, B (gamma-encoded): brightness for the looks' measures."""
_EPS = 6.0 / 29.0
STATS_STRIDE = 4
SPREAD_LIMITS = (0.5, 2.0)
"""The target's spread over the source's, per channel, is clamped to this range."""
MIN_VISIBLE = 0.03
"""Below this share of the crop under the weight (a face almost all covered: a mask, glasses and a
hand), the target's colour is trusted less and less: the swap keeps more of the source's colour
(a and b), with the target's lightness."""


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> Lab (L in [0, 100])."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.like(rgb), linear) / _WHITE.like(rgb)[None, :, None, None]
    f = torch.where(xyz > _EPS**3, xyz.clamp(min=1e-12) ** (1 / 3), xyz / (3 * _EPS**2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_lab`; result clamped to [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > _EPS, f**3, 3 * _EPS**2 * (f - 4 / 29)) * _WHITE.like(lab)[None, :, None, None]
    linear = torch.einsum("ij,bjhw->bihw", _XYZ_TO_RGB.like(lab), xyz).clamp(0, 1)
    return torch.where(
        linear > 0.0031308, 1.055 * linear.clamp(min=1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear
    )


def masked_stats(image: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel weighted mean and std. image (B, C, H, W), weight (B, 1, H, W) -> (B, C, 1, 1) each."""
    total = weight.sum(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    mean = (image * weight).sum(dim=(2, 3), keepdim=True) / total
    var = ((image - mean) ** 2 * weight).sum(dim=(2, 3), keepdim=True) / total
    return mean, var.sqrt()


def transfer_color(source: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Give ``source`` the Lab mean and spread of ``target`` over ``weight`` (both images aligned).

    source, target: (B, 3, H, W) RGB [0, 1]; weight: (B, 1, H, W) in [0, 1], the skin to compare.
    The spread ratio is limited to [0.5, 2] so a flat region cannot amplify noise; the colour (a, b)
    is moved less where little is visible (:data:`MIN_VISIBLE`). Statistics are taken at a quarter
    of the resolution: they barely change and it saves a full-size conversion.
    """
    small_weight = F.avg_pool2d(weight, STATS_STRIDE)
    src_mean, src_std = masked_stats(rgb_to_lab(F.avg_pool2d(source, STATS_STRIDE)), small_weight)
    tgt_mean, tgt_std = masked_stats(rgb_to_lab(F.avg_pool2d(target, STATS_STRIDE)), small_weight)
    ratio = (tgt_std / src_std.clamp(min=1e-3)).clamp(*SPREAD_LIMITS)
    trust = (small_weight.mean(dim=(2, 3), keepdim=True) / MIN_VISIBLE).clamp(max=1)  # (B, 1, 1, 1)
    trust = torch.cat([torch.ones_like(trust), trust, trust], dim=1)  # the lightness always moves
    ratio, tgt_mean = 1 + (ratio - 1) * trust, src_mean + (tgt_mean - src_mean) * trust
    return lab_to_rgb((rgb_to_lab(source) - src_mean) * ratio + tgt_mean)
