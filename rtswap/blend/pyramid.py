"""Multi-band (Laplacian pyramid) blending, Burt & Adelson 1983."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.device import Constant

_KERNEL_1D = Constant([1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16])
"""The 5-tap binomial filter, close to a Gaussian."""


def _down(x: torch.Tensor) -> torch.Tensor:
    """Blur with the binomial filter (edges replicated) and keep every second pixel, computing only
    the kept pixels. Channels are folded into the batch, so each pass is a plain single-channel
    strided convolution: several times faster on CPU than a depthwise one."""
    b, c, h, w = x.shape
    k = _KERNEL_1D.like(x)
    y = x.reshape(b * c, 1, h, w)
    y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), k.view(1, 1, 1, 5), stride=(1, 2))
    y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), k.view(1, 1, 5, 1), stride=(2, 1))
    return y.reshape(b, c, y.shape[-2], y.shape[-1])


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def multiband_change(delta: torch.Tensor, mask: torch.Tensor, levels: int) -> torch.Tensor:
    """Blend ``fg`` over ``bg`` band by band, returned as what it adds to ``bg``: fine detail
    switches sharply at the mask edge, the low frequencies (lighting, tone) mix over a wide band,
    so no seam shows. The blend is linear in fg and bg and the pyramid reconstructs ``bg``
    exactly, so each band is ``bg``'s own plus the mask's share of the difference's: one pyramid
    of ``delta = fg - bg`` does the work of one each of fg and bg.

    delta: (B, C, H, W) float; mask: (B, 1, H, W) in [0, 1]."""
    c = delta.shape[1]
    stack = torch.cat([delta, mask], dim=1)  # one filter pass per level for both
    bands = []
    for _ in range(levels - 1):
        down = _down(stack)
        detail = stack[:, :c] - _up(down[:, :c], (stack.shape[-2], stack.shape[-1]))
        bands.append(detail * stack[:, c:])
        stack = down
    out = stack[:, :c] * stack[:, c:]
    for band in reversed(bands):
        out = _up(out, (band.shape[-2], band.shape[-1])) + band
    return out
