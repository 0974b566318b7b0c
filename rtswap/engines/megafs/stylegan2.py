"""StyleGAN2's synthesis network as PyTorch modules with the published checkpoint's key names
(``g_ema``; no mapping network: MegaFS feeds W++ directly), with modulated convolutions fused as
grouped convolutions, upfirdn2d in plain PyTorch and the checkpoint's fixed noise buffers. It can
stop at any resolution's toRGB: with the skip architecture that partial sum is already an image of
that size. Every width and count is read from the tensors."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from rtswap.engines.megafs.model import count_keys

BLUR = (1.0, 3.0, 3.0, 1.0)
"""StyleGAN2's blur kernel (separable, normalised)."""


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
    steps = count_keys(state, r"to_rgbs\.(\d+)\.")
    channels = [int(state["conv1.conv.weight"].shape[1])]
    channels += [int(state[f"convs.{2 * k}.conv.weight"].shape[1]) for k in range(steps)]
    latent = int(state["conv1.conv.modulation.weight"].shape[1])
    synthesis = Synthesis(channels, latent, resolution)
    used = {k: v for k, v in state.items() if not k.startswith(("style.", "input."))}
    synthesis.load_state_dict(used, strict=True)
    return synthesis.eval()
