"""Instance normalisation as inswapper's and SimSwap's files compute it, safe in half precision."""

from __future__ import annotations

import torch

EPS = 1e-8
"""The files' epsilon: 0 in fp16, hence the statistics in fp32."""


def instance_norm(x: torch.Tensor) -> torch.Tensor:
    """(x − μ) / sqrt(mean((x − μ)²) + 1e-8) per channel of (B, C, H, W), no affine. The statistics
    are taken in fp32 whatever ``x``'s dtype: in fp16 the epsilon is 0 (a flat channel divides 0
    by 0) and a squared deviation over 256 overflows. The result has ``x``'s dtype."""
    wide = x.float()
    centred = wide - wide.mean(dim=(2, 3), keepdim=True)
    return (centred / torch.sqrt(centred.square().mean(dim=(2, 3), keepdim=True) + EPS)).to(x.dtype)
