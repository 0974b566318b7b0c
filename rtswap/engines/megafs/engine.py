"""The ``megafs`` engine: MegaFS swaps in StyleGAN2's latent space.

Ahead of time, per source: each view through the hierarchical encoder, its W++ (18 latents and
the 4x4 content tensor) cached with the identity. Per frame only the target path runs: the
target's crop through the encoder, the face transfer module mixing the source's high latents
(their mean over the views) into the target's, and StyleGAN2's synthesis from the target's
content tensor, stopped at ``--megafs-resolution`` (1024, 512 or 256): the crop works at that
size, the encoder always sees it at 256.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from rtswap.blend.face_mask import mesh_mask
from rtswap.engines import models
from rtswap.engines.base import AlignedView, EngineSettings, FaceBatch
from rtswap.engines.megafs.model import (
    FaceTransferModule,
    HieRFE,
    encoder_from_state_dict,
    ftm_from_state_dict,
    part,
)
from rtswap.engines.megafs.stylegan2 import Synthesis, synthesis_from_state_dict
from rtswap.errors import ModelLoadError
from rtswap.geometry.align import Template, ffhq_template
from rtswap.runtime import choose_backend
from rtswap.runtime.base import Runner, check_precision
from rtswap.runtime.module import OnnxFile, make_runner
from rtswap.weights import cards
from rtswap.weights.state_dict import read_state_dict

log = logging.getLogger("rtswap")

ENCODER_PX = 256
"""The encoder's input side; MegaFS was trained on CelebA-HQ faces, FFHQ-style aligned, at 256."""


class MegaFSSwap(nn.Module):
    """The per-frame path: (target crops (B, 3, R, R) RGB [0, 1], the source's W++ latents
    (N, L)) -> the swapped crops (B, 3, R, R) RGB [0, 1]."""

    def __init__(self, encoder: HieRFE, ftm: FaceTransferModule, synthesis: Synthesis) -> None:
        super().__init__()
        self.encoder, self.ftm, self.synthesis = encoder, ftm, synthesis

    def encode(self, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 3, R, R) [0, 1] -> W++: latents (B, N, L) and content (B, L, 4, 4)."""
        side = crops.shape[-1]
        if side > ENCODER_PX:  # R is 256·2^k: a mean over k x k pixels is the exact 256 px crop
            crops = F.avg_pool2d(crops, side // ENCODER_PX)
        elif side < ENCODER_PX:  # narrow test replicas synthesise below 256
            crops = F.interpolate(crops, size=(ENCODER_PX, ENCODER_PX), mode="bilinear", align_corners=False)
        latents, content = self.encoder(crops * 2.0 - 1.0)
        return latents, content

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        latents, content = self.encode(target)
        mixed = self.ftm(source.expand(len(target), -1, -1), latents)
        return ((self.synthesis(content, mixed) + 1.0) / 2.0).clamp(0.0, 1.0)


@dataclass
class MegaFSIdentity:
    latents: torch.Tensor
    """(V, N, L) each source view's W++ latents."""
    content: torch.Tensor
    """(V, L, 4, 4) each view's content tensor (kept with the W++ set; the swap uses the target's)."""

    @property
    def views(self) -> int:
        return len(self.latents)

    @property
    def source(self) -> torch.Tensor:
        """(N, L) the latents the transfer module takes from the source: the views' mean."""
        return self.latents.mean(dim=0)


class MegaFSEngine:
    """Implements :class:`~rtswap.engines.base.SwapEngine` with :class:`MegaFSIdentity`."""

    name = "megafs"
    artifact_version = 1
    any_crop_size = False

    def __init__(
        self,
        ftm_file: models.FileStatus,
        generator_file: models.FileStatus,
        settings: EngineSettings,
        resolution: int,
    ) -> None:
        """``resolution``: StyleGAN2's synthesis stops at this resolution's toRGB: the crop size."""
        self.device = settings.device
        networks = read_state_dict(ftm_file.path)
        encoder = encoder_from_state_dict(part(networks, "e."))
        ftm = ftm_from_state_dict(part(networks, "s."))
        generator = part(read_state_dict(generator_file.path), "g_ema.")
        resolution = min(resolution, synthesis_from_state_dict(generator).size)
        synthesis = synthesis_from_state_dict(generator, resolution)
        if (synthesis.latents, synthesis.width, ftm.width) != (encoder.latents, encoder.width, encoder.width):
            raise ModelLoadError(
                f"{ftm_file.path} and {generator_file.path} do not belong together: the encoder gives "
                f"{encoder.latents} latents of {encoder.width}, the generator takes {synthesis.latents} "
                f"of {synthesis.width}"
            )
        self.network = MegaFSSwap(encoder, ftm, synthesis).eval()
        self.template = Template(ffhq_template(resolution), resolution)
        self._files = {"encoder_sha256": ftm_file.sha256, "crop_size": resolution}
        self.backend = choose_backend(settings.backend, self.device)
        dtype = check_precision(self.backend, self.device, settings.precision)
        self._runner = _runner(self.backend, self.network, ftm_file, generator_file, settings, dtype)

    @classmethod
    def open(cls, settings: EngineSettings, resolution: int = 1024) -> MegaFSEngine:
        folder = cards.models_dir(settings.models_dir)
        by_role = {c.role: c for c in cards.cards_for(cls.name)}
        swapper, generator = models.require_all([[by_role["swapper"]], [by_role["generator"]]], folder)
        return cls(swapper, generator, settings, resolution)

    def params(self) -> dict[str, object]:
        return dict(self._files)

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        """Every view's W++: its 18 latents and content tensor."""
        crops = torch.cat([v.crop for v in views])
        with torch.inference_mode():  # on the network where the runner keeps it: never moved
            weight = next(self.network.parameters())
            latents, content = self.network.encode(crops.to(weight.device, weight.dtype))
        return {"latents": latents.float().cpu(), "content": content.float().cpu()}

    def load(self, tensors: dict[str, torch.Tensor]) -> MegaFSIdentity:
        return MegaFSIdentity(tensors["latents"].to(self.device), tensors["content"].to(self.device))

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: MegaFSIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        swapped = self._runner(crops, identity.source).to(self.device).clamp(0.0, 1.0)
        return swapped, mesh_mask(faces.landmarks, crops.shape[-1])

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        self._runner.warmup(batch_sizes)


def export_onnx(network: MegaFSSwap, path: Path) -> Path:
    """The per-frame path as ONNX (inputs ``target`` and ``source``) for onnxruntime and TensorRT.
    Its batch is fixed at 1: the fused modulated convolutions group by the batch, which ONNX
    fixes in the graph; the runners run a batch item by item."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated; it needs no onnxscript
        torch.onnx.export(
            network.eval(),
            _example(network),
            str(tmp),
            dynamo=False,
            input_names=["target", "source"],
            output_names=["output"],
            opset_version=17,
        )
    tmp.replace(path)
    return path


def _example(network: MegaFSSwap) -> tuple[torch.Tensor, torch.Tensor]:
    side = network.synthesis.resolution
    return torch.zeros(1, 3, side, side), torch.zeros(network.encoder.latents, network.encoder.width)


def _runner(
    backend: str,
    network: MegaFSSwap,
    ftm_file: models.FileStatus,
    generator_file: models.FileStatus,
    settings: EngineSettings,
    dtype: torch.dtype,
) -> Runner:
    build = cards.models_dir(settings.models_dir) / "build"
    resolution = network.synthesis.resolution
    name = f"megafs-{resolution}-{ftm_file.sha256[:12]}-{generator_file.sha256[:12]}"
    onnx = OnnxFile(build / f"{name}.onnx", name, build, export=partial(export_onnx, network), max_batch=1)
    return make_runner(
        backend, settings.device, settings.precision, dtype, _example(network), lambda: network, onnx
    )
