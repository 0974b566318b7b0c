"""SimSwap's networks as PyTorch modules whose state-dict keys are the official checkpoints'.

- :class:`SimSwapGenerator`: the 224 release (``latest_net_G.pth``: 3 downsamples, 9 ID blocks at
  28x28) and the 512 beta (``550000_net_G.pth``: a 32-channel stem and a fourth downsample,
  ``down0``/``up0``). The per-frame path takes each ID block's two style vectors, which depend
  only on the source and are computed once per identity (:meth:`SimSwapGenerator.styles`).
- :class:`ArcFaceResNet`: SimSwap's identity network (an IR-SE ResNet); its depth is read from
  the state dict.
"""

from __future__ import annotations

import re
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from rtswap.engines.norm import instance_norm

LATENT = 512


def _conv_bn(
    cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0, upsample: bool = False
) -> nn.Sequential:
    """(Upsample), Conv, BatchNorm, ReLU, at the checkpoint's indices."""
    layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="bilinear")] if upsample else []
    layers += [nn.Conv2d(cin, cout, kernel, stride, padding), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*layers)


class _Padded(nn.Sequential):
    """ReflectionPad then Conv, as ``Sequential(pad, conv, ...)`` in the checkpoint (conv at index 1)."""

    def __init__(self, pad: int, conv: nn.Conv2d, *rest: nn.Module) -> None:
        super().__init__(nn.ReflectionPad2d(pad), conv, *rest)


class _Style(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.linear = nn.Linear(LATENT, 2 * channels)


class _IdBlock(nn.Module):
    """conv, instance norm, x·(1+γ)+β, ReLU, conv, instance norm, x·(1+γ)+β, + residual."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _Padded(1, nn.Conv2d(channels, channels, 3))
        self.style1 = _Style(channels)
        self.conv2 = _Padded(1, nn.Conv2d(channels, channels, 3))
        self.style2 = _Style(channels)

    def forward(self, x: torch.Tensor, style1: torch.Tensor, style2: torch.Tensor) -> torch.Tensor:
        y = F.relu(_modulate(instance_norm(self.conv1(x)), style1))
        return x + _modulate(instance_norm(self.conv2(y)), style2)


def _modulate(x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
    """style: (2C,) = [γ | β]."""
    gamma, beta = style.view(2, -1, 1, 1)
    return x * (gamma + 1.0) + beta


class SimSwapGenerator(nn.Module):
    """(target (B, 3, S, S) RGB [0, 1], styles (2·blocks, 2·512)) -> (B, 3, S, S) RGB [0, 1]."""

    def __init__(self, size: int, blocks: int = 9, width: int = 64) -> None:
        """``size`` 224 or 512; ``width``: the stem's channels (64 for 224, 32 for 512; the
        tests build narrower replicas), doubling per downsample up to 8x."""
        super().__init__()
        if size not in (224, 512):
            raise ValueError(f"SimSwap comes at 224 or 512 px, not {size}")
        self.size = size
        stem = width // 2 if size == 512 else width
        self.first_layer = _Padded(3, nn.Conv2d(3, stem, 7), nn.BatchNorm2d(stem), nn.ReLU())
        if size == 512:
            self.down0 = _conv_bn(stem, width, 3, 2, 1)
        self.down1 = _conv_bn(width, 2 * width, 3, 2, 1)
        self.down2 = _conv_bn(2 * width, 4 * width, 3, 2, 1)
        self.down3 = _conv_bn(4 * width, 8 * width, 3, 2, 1)
        self.BottleNeck = nn.ModuleList(_IdBlock(8 * width) for _ in range(blocks))
        self.up3 = _conv_bn(8 * width, 4 * width, 3, 1, 1, upsample=True)
        self.up2 = _conv_bn(4 * width, 2 * width, 3, 1, 1, upsample=True)
        self.up1 = _conv_bn(2 * width, width, 3, 1, 1, upsample=True)
        if size == 512:
            self.up0 = _conv_bn(width, stem, 3, 1, 1, upsample=True)
        self.last_layer = _Padded(3, nn.Conv2d(stem, 3, 7), nn.Tanh())

    def forward(self, target: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        x = self.first_layer(target)
        for name in ("down0", "down1", "down2", "down3"):
            if hasattr(self, name):
                x = getattr(self, name)(x)
        for i, block in enumerate(self.BottleNeck):
            x = block(x, styles[2 * i], styles[2 * i + 1])
        for name in ("up3", "up2", "up1", "up0"):
            if hasattr(self, name):
                x = getattr(self, name)(x)
        return (self.last_layer(x) + 1.0) / 2.0

    def styles(self, latent: torch.Tensor) -> torch.Tensor:
        """(2·blocks, 2C): every ID block's two style vectors for the (512,) identity latent."""
        blocks = [block for block in self.BottleNeck if isinstance(block, _IdBlock)]
        return torch.stack(
            [style.linear(latent) for block in blocks for style in (block.style1, block.style2)]
        )


def generator_from_state_dict(state: dict[str, torch.Tensor]) -> SimSwapGenerator:
    """The generator a checkpoint describes (224 or 512, its width and block count), loaded.
    Raises KeyError or ValueError when the state dict is not SimSwap's."""
    size = 512 if "down0.0.weight" in state else 224
    width = int(state["down1.0.weight"].shape[1])
    blocks = 1 + max(int(m.group(1)) for k in state if (m := re.match(r"BottleNeck\.(\d+)\.", k)))
    generator = SimSwapGenerator(size, blocks, width)
    generator.load_state_dict(state, strict=True)
    return generator.eval()


class _SE(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.PReLU(),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3)))[..., None, None]


class _IRBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.bn0 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cin, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.prelu = nn.PReLU()
        self.conv2 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.se = _SE(cout)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            if stride != 1 or cin != cout
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.prelu(self.bn1(self.conv1(self.bn0(x))))
        out = self.se(self.bn2(self.conv2(out)))
        residual = x if self.downsample is None else self.downsample(x)
        return self.prelu(out + residual)


class ArcFaceResNet(nn.Module):
    """(B, 3, 112, 112) ImageNet-normalised RGB -> (B, 512) raw embedding."""

    def __init__(self, layers: tuple[int, int, int, int], width: int = 64) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 3, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.prelu = nn.PReLU()
        channels, stages = width, []
        for i, count in enumerate(layers):
            out = width * 2**i
            stages.append(
                nn.Sequential(
                    *(
                        _IRBlock(channels if j == 0 else out, out, 2 if i and not j else 1)
                        for j in range(count)
                    )
                )
            )
            channels = out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.bn2 = nn.BatchNorm2d(channels)
        self.fc = nn.Linear(channels * 7 * 7, LATENT)
        self.bn3 = nn.BatchNorm1d(LATENT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.prelu(self.bn1(self.conv1(x))), 2)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.bn3(self.fc(self.bn2(x).flatten(1)))


def arcface_from_state_dict(state: dict[str, torch.Tensor]) -> ArcFaceResNet:
    """SimSwap's ArcFace with the depth and width its state dict has, loaded."""
    layers = tuple(
        1 + max(int(m.group(1)) for k in state if (m := re.match(rf"layer{i}\.(\d+)\.", k)))
        for i in range(1, 5)
    )
    network = ArcFaceResNet(cast(tuple[int, int, int, int], layers), int(state["conv1.weight"].shape[0]))
    network.load_state_dict(state, strict=True)
    return network.eval()
