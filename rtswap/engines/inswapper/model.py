"""inswapper-128 as a native PyTorch module, split at the source/target boundary.

``styles`` (the 12 Gemms of the latent) depends only on the source and is computed once per
identity; :class:`InswapperGenerator` is the per-frame target path, convolutions only:

    reflect-pad 3, conv 7x7, LeakyReLU(0.2); conv 3x3; conv 3x3 /2; conv 3x3 /2 (each + LReLU)
    6 x [reflect-pad 1, conv 3x3, instance norm, x·γ+β, ReLU, reflect-pad 1, conv 3x3,
         instance norm, x·γ+β, + residual]
    bilinear x2, conv 3x3, LReLU, bilinear x2, conv 3x3, LReLU, conv 3x3, LReLU,
    reflect-pad 3, conv 7x7, (tanh + 1) / 2
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from rtswap.engines.inswapper.layout import Conv, InswapperWeights
from rtswap.engines.norm import instance_norm

_SLOPE = 0.2


def _conv2d(conv: Conv) -> nn.Conv2d:
    out_ch, in_ch, k, _ = conv.weight.shape
    layer = nn.Conv2d(in_ch, out_ch, k, stride=conv.stride, padding=conv.padding)
    layer.weight = nn.Parameter(torch.tensor(conv.weight))
    layer.bias = nn.Parameter(torch.tensor(conv.bias))
    return layer


class InswapperGenerator(nn.Module):
    """The per-frame path: (target (B, 3, 128, 128) RGB [0, 1], styles (12, 2C)) -> (B, 3, 128, 128)
    RGB [0, 1]."""

    def __init__(self, weights: InswapperWeights) -> None:
        super().__init__()
        self.encoder = nn.ModuleList(_conv2d(c) for c in weights.encoder)
        self.style_convs = nn.ModuleList(_conv2d(c) for c in weights.style_convs)
        self.decoder = nn.ModuleList(_conv2d(c) for c in weights.decoder)
        self.width = weights.widths[-1]

    def forward(self, target: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        x = F.pad(target, (3, 3, 3, 3), mode="reflect")
        for conv in self.encoder:
            x = F.leaky_relu(conv(x), _SLOPE)
        gamma, beta = styles.view(-1, 2, self.width, 1, 1).unbind(dim=1)  # (12, C, 1, 1) each
        for block in range(len(self.style_convs) // 2):
            first, second = 2 * block, 2 * block + 1
            y = self.style_convs[first](F.pad(x, (1, 1, 1, 1), mode="reflect"))
            y = F.relu(instance_norm(y) * gamma[first] + beta[first])
            y = self.style_convs[second](F.pad(y, (1, 1, 1, 1), mode="reflect"))
            x = x + instance_norm(y) * gamma[second] + beta[second]
        up1, up2, conv3, to_rgb = self.decoder
        x = F.leaky_relu(up1(F.interpolate(x, scale_factor=2.0, mode="bilinear")), _SLOPE)
        x = F.leaky_relu(up2(F.interpolate(x, scale_factor=2.0, mode="bilinear")), _SLOPE)
        x = F.leaky_relu(conv3(x), _SLOPE)
        x = to_rgb(F.pad(x, (3, 3, 3, 3), mode="reflect"))
        return (torch.tanh(x) + 1.0) / 2.0


def latent(embedding: torch.Tensor, emap: torch.Tensor) -> torch.Tensor:
    """insightface's source latent: (e / ‖e‖) · emap, renormalised. embedding: (512,) raw ArcFace."""
    mapped = F.normalize(embedding, dim=0) @ emap
    return F.normalize(mapped, dim=0)


def styles(latent_vector: torch.Tensor, gemms: list[tuple[np.ndarray, np.ndarray]]) -> torch.Tensor:
    """(12, 2C): the 12 Gemms (weight (2C, 512), bias (2C,)) of the (512,) latent, [γ | β] per
    style convolution, in block order."""
    return torch.stack([latent_vector @ torch.tensor(w).T + torch.tensor(b) for w, b in gemms])
