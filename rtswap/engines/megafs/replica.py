"""Random-weight replicas of MegaFS's two checkpoint files, at the real widths or narrower.

No checkpoint can be downloaded here: tests build narrow, low-resolution replicas to check
loading, the W++ cache, parity between backends and the whole swap path; benchmarks use the real
widths, whose cost random weights have exactly. The files have the published formats:
``{"e": encoder, "s": swapper}`` and ``{"g_ema": generator, "latent_avg": ...}``, the generator
with its mapping network and constant input, which MegaFS does not use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rtswap.engines.megafs.model import FaceTransferModule, HieRFE
from rtswap.engines.megafs.stylegan2 import Synthesis


@dataclass(frozen=True)
class Widths:
    encoder: int
    """The ResNet's stem channels (64)."""
    latent: int
    """Each latent's size, and the content tensor's channels (512)."""
    hidden: int
    """The transfer cells' hidden size (256)."""
    split: tuple[int, int, int]
    """Latents from the 8, 16 and 32 px feature maps (4, 6, 8): 18 in all, for 1024 px."""
    channels: tuple[int, ...]
    """The generator's channels per resolution from 4 px up; its size is 2^(len + 1)."""
    blocks: tuple[int, ...] = (3, 4, 6, 3, 2)
    """Bottlenecks per ResNet stage."""


REAL = Widths(64, 512, 256, (4, 6, 8), (512, 512, 512, 512, 512, 256, 128, 64, 32))
NARROW = Widths(8, 32, 16, (4, 4, 4), (32, 32, 32, 16, 8, 8), blocks=(1, 1, 1, 1, 1))
"""128 px synthesis from 12 latents: the structure of the real networks at a test's cost."""


def random_networks(widths: Widths = REAL, seed: int = 0) -> tuple[HieRFE, FaceTransferModule, Synthesis]:
    """The three networks with random weights at a scale that keeps activations O(1)."""
    generator = torch.Generator().manual_seed(seed)
    encoder = HieRFE(list(widths.blocks), widths.encoder, widths.latent, widths.split)
    high = sum(widths.split) - widths.split[0]
    ftm = FaceTransferModule(high, 3, widths.latent, widths.hidden)
    synthesis = Synthesis(list(widths.channels), widths.latent)
    with torch.no_grad():
        for network in (encoder, ftm, synthesis):
            for module in network.modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    fan_in = module.weight[0].numel()
                    module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
                    if module.bias is not None:
                        module.bias.normal_(0.0, 0.01, generator=generator)
        for name, tensor in [
            *ftm.named_parameters(),
            *synthesis.named_parameters(),
            *synthesis.named_buffers(),
        ]:
            if name == "weight" or name.endswith(("conv.weight", "modulation.weight")) or "noises." in name:
                tensor.normal_(generator=generator)  # StyleGAN2 scales these at run time
            elif name.endswith("noise.weight"):
                tensor.fill_(0.1)
    return encoder.eval(), ftm.eval(), synthesis.eval()


def write_replica(folder: Path, widths: Widths = REAL, seed: int = 0) -> tuple[Path, Path]:
    """``megafs_ftm.pth`` and ``megafs_stylegan2.pth`` with the published formats and random
    weights, in ``folder``."""
    encoder, ftm, synthesis = random_networks(widths, seed)
    folder.mkdir(parents=True, exist_ok=True)
    networks, generator = folder / "megafs_ftm.pth", folder / "megafs_stylegan2.pth"
    torch.save({"e": encoder.state_dict(), "s": ftm.state_dict()}, networks)
    unused = {f"style.{i}.weight": torch.randn(widths.latent, widths.latent) for i in range(1, 9)}
    unused["input.input"] = torch.randn(1, widths.channels[0], 4, 4)
    state = {**synthesis.state_dict(), **unused}
    torch.save({"g_ema": state, "latent_avg": torch.zeros(widths.latent)}, generator)
    return networks, generator
