"""Multi-band (Laplacian pyramid) blending, Burt & Adelson 1983."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_KERNEL_1D = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _gaussian(x: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    k = (_KERNEL_1D[:, None] * _KERNEL_1D[None, :]).to(x)[None, None].expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate"), k, groups=c)


def _down(x: torch.Tensor) -> torch.Tensor:
    return _gaussian(x)[..., ::2, ::2]


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def multiband_blend(fg: torch.Tensor, bg: torch.Tensor, mask: torch.Tensor, levels: int) -> torch.Tensor:
    """Blend ``fg`` over ``bg`` band by band: fine detail switches sharply at the mask edge, the
    low frequencies (lighting, tone) mix over a wide band, so no seam shows.

    fg, bg: (B, C, H, W) float; mask: (B, 1, H, W) in [0, 1], 1 = fg.
    """
    out_levels = []
    for _ in range(levels - 1):
        fg_down, bg_down, mask_down = _down(fg), _down(bg), _down(mask)
        size = (fg.shape[-2], fg.shape[-1])
        fg_band = fg - _up(fg_down, size)
        bg_band = bg - _up(bg_down, size)
        out_levels.append(fg_band * mask + bg_band * (1 - mask))
        fg, bg, mask = fg_down, bg_down, mask_down
    out = fg * mask + bg * (1 - mask)
    for band in reversed(out_levels):
        out = _up(out, (band.shape[-2], band.shape[-1])) + band
    return out
