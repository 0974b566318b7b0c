"""GFPGAN v1.4 and GPEN-BFR-512 at their real widths, with random weights: what a restorer costs per
face, measured without the checkpoints, which cannot be downloaded here. Not the networks: random
weights draw noise. Both are StyleGAN2 synthesis networks at 512 px (channel multiplier 2) driven by
an encoder of the degraded face:

- **GFPGAN** (Wang et al., CVPR 2021; the "clean" architecture of v1.3 and v1.4, ``GFPGANv1Clean``):
  a U-Net at half the decoder's width reads the face down to 4x4 (1x1 stem, 7 residual blocks) and
  back up (7 more); at each resolution two 3x3 convs each make a scale and a shift, spatial feature
  transforms of half of the decoder's channels; the encoder's last features make 16 style codes.
- **GPEN** (Yang et al., CVPR 2021; ``FullGenerator``, ``isconcat``): an encoder of strided convs at
  the decoder's widths down to 4x4, whose last features make one style code (through the 8-layer
  mapping network), and whose feature maps at every resolution are concatenated to the decoder's
  features in place of StyleGAN2's noise: every decoder conv after the first reads twice the
  channels.

The modulated convs modulate the input and demodulate the output (StyleGAN2's unfused form), so one
graph serves any batch, and upsample by bilinear interpolation (GFPGAN's clean decoder; GPEN's
blurred transposed conv costs about the same).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SIZE = 512
STYLE = 512
_DECODER = {4: 512, 8: 512, 16: 512, 32: 512, 64: 512, 128: 256, 256: 128, 512: 64}
"""The decoder's channels per resolution (StyleGAN2 config-f widths at 512 px)."""
_UNET = {resolution: channels // 2 for resolution, channels in _DECODER.items()}
"""GFPGAN's U-Net: half the decoder's (its SFT conditions modulate half of the decoder's channels)."""
_LEVELS = [2**i for i in range(3, int(math.log2(SIZE)) + 1)]
"""8 ... 512."""


class _ResBlock(nn.Module):
    """3x3 conv, resample by 2, 3x3 conv; a 1x1 skip from the resampled input."""

    def __init__(self, cin: int, cout: int, scale: float) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(cin, cin, 3, padding=1), nn.Conv2d(cin, cout, 3, padding=1)
        self.skip, self.scale = nn.Conv2d(cin, cout, 1, bias=False), scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(F.leaky_relu(self.conv1(x), 0.2), scale_factor=self.scale, mode="bilinear")
        out = F.leaky_relu(self.conv2(out), 0.2)
        return out + self.skip(F.interpolate(x, scale_factor=self.scale, mode="bilinear"))


class _ModulatedConv(nn.Module):
    def __init__(
        self, cin: int, cout: int, kernel: int, demodulate: bool = True, upsample: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(cout, cin, kernel, kernel) / math.sqrt(cin * kernel * kernel))
        self.modulation = nn.Linear(STYLE, cin)
        self.demodulate, self.upsample = demodulate, upsample

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        scale = self.modulation(style)  # (B, cin)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear")
        out = F.conv2d(x * scale[:, :, None, None], self.weight, padding=self.weight.shape[-1] // 2)
        if self.demodulate:
            power = (scale[:, None, :] ** 2) @ (self.weight**2).sum(dim=(2, 3)).T[None]  # (B, 1, cout)
            out = out * torch.rsqrt(power[:, 0, :, None, None] + 1e-8)
        return out


class _StyledConv(nn.Module):
    def __init__(self, cin: int, cout: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = _ModulatedConv(cin, cout, 3, upsample=upsample)
        self.noise_weight, self.bias = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1, cout, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        out = self.conv(x, style)
        noise = torch.zeros_like(out[:, :1])  # (fixed noise: the restorers run without it)
        return F.leaky_relu(out + self.noise_weight * noise + self.bias, 0.2) * math.sqrt(2)


class _ToRGB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.conv, self.bias = (
            _ModulatedConv(cin, 3, 1, demodulate=False),
            nn.Parameter(torch.zeros(1, 3, 1, 1)),
        )

    def forward(self, x: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        out = self.conv(x, style) + self.bias
        return out if skip is None else out + F.interpolate(skip, scale_factor=2, mode="bilinear")


def _sft(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(channels, channels, 3, padding=1),
    )


class GFPGANReplica(nn.Module):
    """(B, 3, 512, 512) in [-1, 1] -> the restored (B, 3, 512, 512), as the user's ONNX file maps."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, _UNET[SIZE], 1)
        self.down = nn.ModuleList(_ResBlock(_UNET[r], _UNET[r // 2], 0.5) for r in reversed(_LEVELS))
        self.final_conv = nn.Conv2d(_UNET[4], _UNET[4], 3, padding=1)
        self.up = nn.ModuleList(_ResBlock(_UNET[r // 2], _UNET[r], 2.0) for r in _LEVELS)
        self.scales = nn.ModuleList(_sft(_UNET[r]) for r in _LEVELS)
        self.shifts = nn.ModuleList(_sft(_UNET[r]) for r in _LEVELS)
        self.styles = nn.Linear(_UNET[4] * 16, (2 * len(_LEVELS) + 2) * STYLE)
        self.constant = nn.Parameter(torch.randn(1, _DECODER[4], 4, 4))
        self.conv1, self.to_rgb1 = _StyledConv(_DECODER[4], _DECODER[4]), _ToRGB(_DECODER[4])
        self.convs = nn.ModuleList()
        for r in _LEVELS:
            self.convs.extend(
                [
                    _StyledConv(_DECODER[r // 2], _DECODER[r], upsample=True),
                    _StyledConv(_DECODER[r], _DECODER[r]),
                ]
            )
        self.to_rgbs = nn.ModuleList(_ToRGB(_DECODER[r]) for r in _LEVELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.leaky_relu(self.stem(x), 0.2)
        skips: list[torch.Tensor] = []
        for block in self.down:
            feat = block(feat)
            skips.insert(0, feat)
        feat = F.leaky_relu(self.final_conv(feat), 0.2)
        styles = self.styles(feat.flatten(1)).view(len(x), -1, STYLE)
        conditions = []
        for block, skip, scale, shift in zip(self.up, skips, self.scales, self.shifts, strict=True):
            feat = block(feat + skip)
            conditions.append((scale(feat), shift(feat)))
        out = self.conv1(self.constant.expand(len(x), -1, -1, -1), styles[:, 0])
        image = self.to_rgb1(out, styles[:, 1], None)
        for k, (scale, shift) in enumerate(conditions):
            out = self.convs[2 * k](out, styles[:, 2 * k + 1])
            same, modulated = out.chunk(2, dim=1)
            out = torch.cat([same, modulated * scale + shift], dim=1)
            out = self.convs[2 * k + 1](out, styles[:, 2 * k + 2])
            image = self.to_rgbs[k](out, styles[:, 2 * k + 3], image)
        return image


class _ConcatConv(nn.Module):
    """GPEN's styled conv: a modulated conv, then the encoder's features at that resolution
    concatenated (where StyleGAN2 adds noise), then bias and activation over both."""

    def __init__(self, cin: int, cout: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = _ModulatedConv(cin, cout, 3, upsample=upsample)
        self.weight, self.bias = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1, 2 * cout, 1, 1))

    def forward(self, x: torch.Tensor, style: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        out = torch.cat([self.conv(x, style), self.weight * features], dim=1)
        return F.leaky_relu(out + self.bias, 0.2) * math.sqrt(2)


class GPENReplica(nn.Module):
    """(B, 3, 512, 512) in [-1, 1] -> the restored (B, 3, 512, 512)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, _DECODER[SIZE], 1)
        self.down = nn.ModuleList(
            nn.Conv2d(_DECODER[r], _DECODER[r // 2], 3, stride=2, padding=1) for r in reversed(_LEVELS)
        )
        self.style = nn.Linear(_DECODER[4] * 16, STYLE)
        self.mapping = nn.ModuleList(nn.Linear(STYLE, STYLE) for _ in range(8))
        self.constant = nn.Parameter(torch.randn(1, _DECODER[4], 4, 4))
        self.conv1, self.to_rgb1 = _ConcatConv(_DECODER[4], _DECODER[4]), _ToRGB(2 * _DECODER[4])
        self.convs = nn.ModuleList()
        for r in _LEVELS:
            self.convs.append(_ConcatConv(2 * _DECODER[r // 2], _DECODER[r], upsample=True))
            self.convs.append(_ConcatConv(2 * _DECODER[r], _DECODER[r]))
        self.to_rgbs = nn.ModuleList(_ToRGB(2 * _DECODER[r]) for r in _LEVELS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.leaky_relu(self.stem(x), 0.2)
        features = [feat]
        for conv in self.down:
            feat = F.leaky_relu(conv(feat), 0.2)
            features.insert(0, feat)  # 4x4 first
        style = F.leaky_relu(self.style(feat.flatten(1)), 0.2)
        for layer in self.mapping:
            style = F.leaky_relu(layer(style), 0.2)
        out = self.conv1(self.constant.expand(len(x), -1, -1, -1), style, features[0])
        image = self.to_rgb1(out, style, None)
        for k, here in enumerate(features[1:]):
            out = self.convs[2 * k](out, style, here)
            out = self.convs[2 * k + 1](out, style, here)
            image = self.to_rgbs[k](out, style, image)
        return image
