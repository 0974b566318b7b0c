"""MegaFS's three networks as PyTorch modules whose state-dict keys are the published
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
- :class:`Synthesis`: StyleGAN2's synthesis network (no mapping network: MegaFS feeds W++
  directly), with modulated convolutions fused as grouped convolutions, upfirdn2d in plain
  PyTorch and the checkpoint's fixed noise buffers. It can stop at any resolution's toRGB:
  with the skip architecture that partial sum is already an image of that size.

Every width, count and resolution is read from the tensors, so narrow, low-resolution replicas
of the same structure load too.
"""

from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F
from torch import nn

BLUR = (1.0, 3.0, 3.0, 1.0)
"""StyleGAN2's blur kernel (separable, normalised)."""

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
    blocks = [_count(state, rf"fpn\.backbone\.layer{i}\.(\d+)\.") for i in range(1, 6)]
    split = tuple(_count(state, rf"mapping{i}\.(\d+)\.") for i in range(1, 4))
    width = int(state["fpn.backbone.conv1.weight"].shape[0])
    latent = int(state["fpn.output1.0.weight"].shape[0])
    encoder = HieRFE(blocks, width, latent, split)  # type: ignore[arg-type]
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
    blocks = _count(state, r"blocks\.0\.idd_selectors\.(\d+)\.")
    hidden = int(state["blocks.0.idd_selectors.0.0.weight"].shape[0])
    ftm = FaceTransferModule(high, blocks, latent, hidden)
    ftm.load_state_dict(state, strict=True)
    return ftm.eval()


# --- StyleGAN2 synthesis -------------------------------------------------------------------


def blur_kernel(factor: int = 1) -> torch.Tensor:
    k = torch.tensor(BLUR)
    kernel = k[None, :] * k[:, None]
    return kernel / kernel.sum() * factor**2


def upfirdn2d(
    x: torch.Tensor, kernel: torch.Tensor, up: int = 1, pad: tuple[int, int] = (0, 0)
) -> torch.Tensor:
    """Upsample by zero insertion, pad, and filter with a 2D FIR ``kernel``, every channel alike
    (StyleGAN2's ``upfirdn2d`` without downsampling, in plain PyTorch)."""
    batch, channels, height, width = x.shape
    if up > 1:
        x = F.pad(x.reshape(batch, channels, height, 1, width, 1), [0, up - 1, 0, 0, 0, up - 1])
        height, width = height * up, width * up
        x = x.reshape(batch, channels, height, width)
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]]).reshape(
        batch * channels, 1, height + sum(pad), width + sum(pad)
    )
    out = F.conv2d(x, kernel.flip(0, 1)[None, None].to(x.dtype))
    return out.reshape(batch, channels, *out.shape[-2:])


class _Blur(nn.Module):
    def __init__(self, pad: tuple[int, int], factor: int = 1) -> None:
        super().__init__()
        self.pad = pad
        self.kernel: torch.Tensor
        self.register_buffer("kernel", blur_kernel(factor))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, pad=self.pad)


class _Upsample(nn.Module):
    """×2 with the blur kernel (pads (2, 1))."""

    def __init__(self) -> None:
        super().__init__()
        self.kernel: torch.Tensor
        self.register_buffer("kernel", blur_kernel(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upfirdn2d(x, self.kernel, up=2, pad=(2, 1))


class _EqualLinear(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin))
        self.bias = nn.Parameter(torch.ones(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight / math.sqrt(self.weight.shape[1]), self.bias)


class _ModulatedConv(nn.Module):
    """Weights scaled per input channel by an affine of the latent, optionally demodulated, run
    as one grouped convolution over the batch; ``upsample`` = transposed conv, then blur."""

    def __init__(
        self, cin: int, cout: int, kernel: int, latent: int, demodulate: bool = True, upsample: bool = False
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, cout, cin, kernel, kernel))
        self.modulation = _EqualLinear(latent, cin)
        self.demodulate, self.upsample = demodulate, upsample
        self.scale = 1 / math.sqrt(cin * kernel**2)
        if upsample:
            self.blur = _Blur((1, 1), factor=2)

    def forward(self, x: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
        batch, cin, height, width = x.shape
        _, cout, _, k, _ = self.weight.shape
        weight = self.scale * self.weight * self.modulation(latent).view(batch, 1, cin, 1, 1)
        if self.demodulate:
            weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4)) + 1e-8).view(
                batch, cout, 1, 1, 1
            )
        x = x.reshape(1, batch * cin, height, width)
        if self.upsample:
            weight = weight.transpose(1, 2).reshape(batch * cin, cout, k, k)
            out = F.conv_transpose2d(x, weight, stride=2, groups=batch)
            return self.blur(out.reshape(batch, cout, *out.shape[-2:]))
        out = F.conv2d(x, weight.reshape(batch * cout, cin, k, k), padding=k // 2, groups=batch)
        return out.reshape(batch, cout, *out.shape[-2:])


class _Noise(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))


class _Activate(nn.Module):
    """Bias, leaky ReLU 0.2, ×√2 (StyleGAN2's fused leaky ReLU)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x + self.bias.view(1, -1, 1, 1), 0.2) * math.sqrt(2)


class _StyledConv(nn.Module):
    def __init__(self, cin: int, cout: int, latent: int, upsample: bool = False) -> None:
        super().__init__()
        self.conv = _ModulatedConv(cin, cout, 3, latent, upsample=upsample)
        self.noise = _Noise()
        self.activate = _Activate(cout)

    def forward(self, x: torch.Tensor, latent: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.activate(self.conv(x, latent) + self.noise.weight * noise)


class _ToRGB(nn.Module):
    def __init__(self, cin: int, latent: int, upsample: bool = True) -> None:
        super().__init__()
        if upsample:
            self.upsample = _Upsample()
        self.conv = _ModulatedConv(cin, 3, 1, latent, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))

    def forward(
        self, x: torch.Tensor, latent: torch.Tensor, skip: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = self.conv(x, latent) + self.bias
        return out if skip is None else out + self.upsample(skip)


class Synthesis(nn.Module):
    """(content (B, C, 4, 4), W++ latents (B, N, L)) -> (B, 3, R, R) RGB in about [-1, 1], where R
    is ``resolution`` (a power of two from 8 up to the network's size): the toRGB skip sum at
    that layer, the layers above it not run."""

    def __init__(self, channels: list[int], latent: int, resolution: int | None = None) -> None:
        """``channels``: per resolution from 4x4 up, the feature channels (config-f at 1024:
        512, 512, 512, 512, 512, 256, 128, 64, 32)."""
        super().__init__()
        self.size = 2 ** (len(channels) + 1)
        self.resolution = resolution or self.size
        if self.resolution not in [2**i for i in range(3, len(channels) + 2)]:
            raise ValueError(f"resolution {self.resolution}: a power of two from 8 to {self.size}")
        self.conv1 = _StyledConv(channels[0], channels[0], latent)
        self.to_rgb1 = _ToRGB(channels[0], latent, upsample=False)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        for cin, cout in zip(channels, channels[1:], strict=False):
            self.convs.extend(
                [_StyledConv(cin, cout, latent, upsample=True), _StyledConv(cout, cout, latent)]
            )
            self.to_rgbs.append(_ToRGB(cout, latent))
        self.noises = nn.Module()
        for i in range(2 * len(channels) - 1):
            side = 2 ** ((i + 5) // 2)
            self.noises.register_buffer(f"noise_{i}", torch.zeros(1, 1, side, side))

    @property
    def latents(self) -> int:
        """How many W++ latents it takes (18 at 1024)."""
        return 2 * len(self.to_rgbs) + 2

    @property
    def width(self) -> int:
        """Each latent's size (512), which is also the content tensor's channels."""
        return int(self.conv1.conv.weight.shape[2])

    def forward(self, content: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        noise = [getattr(self.noises, f"noise_{i}") for i in range(2 * len(self.to_rgbs) + 1)]
        x = self.conv1(content, latents[:, 0], noise[0])
        skip = self.to_rgb1(x, latents[:, 1])
        steps = int(math.log2(self.resolution)) - 2
        for k in range(steps):
            first, second, to_rgb = self.convs[2 * k], self.convs[2 * k + 1], self.to_rgbs[k]
            x = first(x, latents[:, 2 * k + 1], noise[2 * k + 1])
            x = second(x, latents[:, 2 * k + 2], noise[2 * k + 2])
            skip = to_rgb(x, latents[:, 2 * k + 3], skip)
        return skip


def synthesis_from_state_dict(state: dict[str, torch.Tensor], resolution: int | None = None) -> Synthesis:
    """StyleGAN2's synthesis from a generator state dict (``stylegan2-ffhq-config-f.pth``'s
    ``g_ema``; its mapping network and constant input, which MegaFS does not use, are left out),
    stopping at ``resolution`` (default: the network's size)."""
    steps = _count(state, r"to_rgbs\.(\d+)\.")
    channels = [int(state["conv1.conv.weight"].shape[1])]
    channels += [int(state[f"convs.{2 * k}.conv.weight"].shape[1]) for k in range(steps)]
    latent = int(state["conv1.conv.modulation.weight"].shape[1])
    synthesis = Synthesis(channels, latent, resolution)
    used = {k: v for k, v in state.items() if not k.startswith(("style.", "input."))}
    synthesis.load_state_dict(used, strict=True)
    return synthesis.eval()


def part(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of one network in a file of several: those under ``prefix``, without it."""
    return {key[len(prefix) :]: value for key, value in state.items() if key.startswith(prefix)}


def _count(state: dict[str, torch.Tensor], pattern: str) -> int:
    """1 + the largest index the regex's group matches among the keys (KeyError if none)."""
    found = [int(m.group(1)) for key in state if (m := re.match(pattern, key))]
    if not found:
        raise KeyError(pattern)
    return 1 + max(found)
