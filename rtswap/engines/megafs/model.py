"""MegaFS's encoder and face transfer module as PyTorch modules whose state-dict keys are the published
checkpoints' (``ftm_final.pth``: ``e`` the encoder, ``s`` the face transfer module;
``stylegan2-ffhq-config-f.pth``: ``g_ema`` the generator).

- :class:`HieRFE`: ResNet-50 with a fifth stage, an FPN, and one small conv tower per latent:
  a 256 px face (RGB in [-1, 1]) -> W++, the 18 latents (tanh) and a 4x4 content tensor that
  takes the place of StyleGAN2's constant input. The first 4 latents carry pose and structure,
  the other 14 identity and detail.
- :class:`FaceTransferModule`: per high latent, a transfer cell of gated blocks that exchange
  information between the source's latent and the target's, then a learned per-layer mix of the
  two. (The reference's activation there is ``nn.LeakyReLU(True)``: a negative slope of 1.0,
  the identity; it is left out.)
- StyleGAN2's synthesis network: :mod:`rtswap.engines.megafs.stylegan2`.

Every width, count and resolution is read from the tensors, so narrow, low-resolution replicas
of the same structure load too.
"""

from __future__ import annotations

import re
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

# --- HieRFE --------------------------------------------------------------------------------


class _Bottleneck(nn.Module):
    """torchvision's ResNet bottleneck (stride on the 3x3)."""

    def __init__(self, cin: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = (
            nn.Sequential(nn.Conv2d(cin, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
            if stride != 1 or cin != planes * 4
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class _ResNet(nn.Module):
    """ResNet-50's stem and four stages, and a fifth stage of ``width``·8 planes at stride 2.
    Returns the outputs of stages 2 to 5 (strides 8, 16, 32, 64)."""

    def __init__(self, blocks: list[int], width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        channels = width
        for stage, count in enumerate(blocks, start=1):
            planes = width * 2 ** min(stage - 1, 3)
            layers = [_Bottleneck(channels, planes, 1 if stage == 1 else 2)]
            layers += [_Bottleneck(planes * 4, planes, 1) for _ in range(count - 1)]
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
            channels = planes * 4

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.get_submodule("layer1")(x)
        outputs = []
        for stage in ("layer2", "layer3", "layer4", "layer5"):
            x = self.get_submodule(stage)(x)
            outputs.append(x)
        return outputs


def _conv_bn(cin: int, cout: int, kernel: int, relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, 1, kernel // 2), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU()) if relu else nn.Sequential(*layers)


class _FPN(nn.Module):
    def __init__(self, backbone: _ResNet, width: int, latent: int) -> None:
        super().__init__()
        self.backbone = backbone
        self.output1 = _conv_bn(width * 8, latent, 3, relu=True)
        self.output2 = _conv_bn(width * 16, latent, 3, relu=True)
        self.output3 = _conv_bn(width * 32, latent, 3, relu=True)
        self.output4 = _conv_bn(width * 32, latent, 3, relu=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        c1, c2, c3, c4 = self.backbone(x)
        p3 = self.output3(c3)
        p2 = self.output2(c2) + _up(p3)
        p1 = self.output1(c1) + _up(p2)
        return self.output4(c4), p3, p2, p1


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class _StyleMapping(nn.Module):
    """``steps`` stride-2 convs (BN, LeakyReLU 0.01) down to 1x1: one latent."""

    def __init__(self, steps: int, latent: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(steps):
            layers += [nn.Conv2d(latent, latent, 3, 2, 1), nn.BatchNorm2d(latent), nn.LeakyReLU()]
        self.convs = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(x).flatten(1)


class HieRFE(nn.Module):
    """(B, 3, 256, 256) RGB in [-1, 1] -> latents (B, 18, L) and content (B, L, 4, 4)."""

    def __init__(self, blocks: list[int], width: int, latent: int, split: tuple[int, int, int]) -> None:
        super().__init__()
        self.fpn = _FPN(_ResNet(blocks, width), width, latent)
        self.latents, self.width = sum(split), latent
        """How many W++ latents it gives (18), and each one's size (512)."""
        for group, (count, steps) in enumerate(zip(split, (3, 4, 5), strict=True), start=1):
            setattr(
                self, f"mapping{group}", nn.ModuleList(_StyleMapping(steps, latent) for _ in range(count))
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        content, *features = self.fpn(x)  # the maps at 8, 16 and 32 px
        groups = [self.get_submodule(f"mapping{i}") for i in (1, 2, 3)]
        latents = [m(f) for f, group in zip(features, groups, strict=True) for m in group.children()]
        return torch.tanh(torch.stack(latents, dim=1)), content


def encoder_from_state_dict(state: dict[str, torch.Tensor]) -> HieRFE:
    """The encoder a state dict (``ftm_final.pth``'s ``e``) describes, loaded. KeyError or
    ValueError if it is not one."""
    blocks = [count_keys(state, rf"fpn\.backbone\.layer{i}\.(\d+)\.") for i in range(1, 6)]
    split = tuple(count_keys(state, rf"mapping{i}\.(\d+)\.") for i in range(1, 4))
    width = int(state["fpn.backbone.conv1.weight"].shape[0])
    latent = int(state["fpn.output1.0.weight"].shape[0])
    encoder = HieRFE(blocks, width, latent, cast(tuple[int, int, int], split))
    encoder.load_state_dict(state, strict=True)
    return encoder.eval()


# --- Face transfer module ------------------------------------------------------------------


def _gate(latent: int, hidden: int, out: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Linear(2 * latent, hidden), nn.ReLU(), nn.Linear(hidden, latent), out)


class _TransferCell(nn.Module):
    def __init__(self, blocks: int, latent: int, hidden: int) -> None:
        super().__init__()
        self.idd_selectors = nn.ModuleList(_gate(latent, hidden, nn.Sigmoid()) for _ in range(blocks))
        self.idd_shifters = nn.ModuleList(_gate(latent, hidden, nn.Tanh()) for _ in range(blocks))
        self.att_selectors = nn.ModuleList(_gate(latent, hidden, nn.Sigmoid()) for _ in range(blocks))
        self.att_shifters = nn.ModuleList(_gate(latent, hidden, nn.Tanh()) for _ in range(blocks))

    def forward(self, idd: torch.Tensor, att: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for idd_sel, idd_shift, att_sel, att_shift in zip(
            self.idd_selectors, self.idd_shifters, self.att_selectors, self.att_shifters, strict=True
        ):
            fuse = torch.cat([idd, att], dim=1)
            idd, att = idd * idd_sel(fuse) + idd_shift(fuse), att * att_sel(fuse) + att_shift(fuse)
        return idd, att


class FaceTransferModule(nn.Module):
    """(source latents (B, N, L), target latents (B, N, L)) -> the swapped W++ (B, N, L): the
    target's first ``N - high`` latents, then per high latent σ(w)·source' + (1 − σ(w))·target'
    after the transfer cells."""

    def __init__(self, high: int, blocks: int, latent: int, hidden: int) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_TransferCell(blocks, latent, hidden) for _ in range(high))
        self.weight = nn.Parameter(torch.zeros(1, high, latent))

    @property
    def width(self) -> int:
        return int(self.weight.shape[2])

    def forward(self, idd: torch.Tensor, att: torch.Tensor) -> torch.Tensor:
        low = att.shape[1] - len(self.blocks)
        pairs = [cell(idd[:, low + i], att[:, low + i]) for i, cell in enumerate(self.blocks)]
        idds, atts = (torch.stack(side, dim=1) for side in zip(*pairs, strict=True))
        scale = torch.sigmoid(self.weight)
        return torch.cat([att[:, :low], scale * idds + (1 - scale) * atts], dim=1)


def ftm_from_state_dict(state: dict[str, torch.Tensor]) -> FaceTransferModule:
    """The face transfer module of ``ftm_final.pth``'s ``s``, loaded."""
    high, latent = int(state["weight"].shape[1]), int(state["weight"].shape[2])
    blocks = count_keys(state, r"blocks\.0\.idd_selectors\.(\d+)\.")
    hidden = int(state["blocks.0.idd_selectors.0.0.weight"].shape[0])
    ftm = FaceTransferModule(high, blocks, latent, hidden)
    ftm.load_state_dict(state, strict=True)
    return ftm.eval()


def part(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of one network in a file of several: those under ``prefix``, without it."""
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def count_keys(state: dict[str, torch.Tensor], pattern: str) -> int:
    """1 + the largest index the regex's group matches among the keys (KeyError if none)."""
    found = [int(m.group(1)) for key in state if (m := re.match(pattern, key))]
    if not found:
        raise KeyError(pattern)
    return 1 + max(found)
