"""Multi-band (Laplacian pyramid) blending, Burt & Adelson 1983."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_TAPS = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
"""The 5-tap binomial filter, close to a Gaussian."""


def _down(x: torch.Tensor) -> torch.Tensor:
    """Blur with the binomial filter (edges replicated) and keep every second pixel, computing
    only the kept pixels: a weighted sum of strided views per axis, several times faster on CPU
    than a depthwise ``conv2d``."""
    r = len(_TAPS) // 2
    for dim, padding in ((2, (0, 0, r, r)), (3, (r, r, 0, 0))):
        span = 2 * ((x.shape[dim] + 1) // 2) - 1
        padded = F.pad(x, padding, mode="replicate")
        every_second = (slice(None),) * dim + (slice(None, None, 2),)
        out = torch.zeros(())
        for offset, weight in enumerate(_TAPS):
            out = out + weight * padded.narrow(dim, offset, span)[every_second]
        x = out
    return x


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def multiband_blend(fg: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor, levels: int) -> torch.Tensor:
    """Blend ``fg`` over ``bg`` band by band: fine detail switches sharply at the mask edge, the
    low frequencies (lighting, tone) mix over a wide band, so no seam shows.

    fg, bg: (B, C, H, W) float; mask: (B, 1, H, W) in [0, 1], 1 = fg.
    """
    c = fg.shape[1]
    stack = torch.cat([fg, bg, mask], dim=1)  # one filter pass per level for all three
    bands = []
    for _ in range(levels - 1):
        down = _down(stack)
        detail = stack[:, : 2 * c] - _up(down[:, : 2 * c], (stack.shape[-2], stack.shape[-1]))
        m = stack[:, 2 * c :]
        bands.append(detail[:, :c] * m + detail[:, c:] * (1 - m))
        stack = down
    m = stack[:, 2 * c :]
    out = stack[:, :c] * m + stack[:, c : 2 * c] * (1 - m)
    for band in reversed(bands):
        out = _up(out, (band.shape[-2], band.shape[-1])) + band
    return out
