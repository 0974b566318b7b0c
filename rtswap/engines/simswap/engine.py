"""The ``simswap`` engine: SimSwap's generator on its official checkpoints (224 or 512 px).

Ahead of time, per source: the ArcFace embedding of every view (SimSwap's own ArcFace, its
converted weights or an ONNX export) and the 18 style vectors of the 9 ID blocks. Per frame only
the target path runs: the aligned crop through the generator with those vectors.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from rtswap.blend.face_mask import mesh_mask
from rtswap.engines import models
from rtswap.engines.base import AlignedView, EngineSettings, FaceBatch
from rtswap.engines.simswap.model import SimSwapGenerator, arcface_from_state_dict, generator_from_state_dict
from rtswap.geometry.align import Template, named_template, realign
from rtswap.runtime import choose_backend
from rtswap.runtime.base import Runner, check_precision
from rtswap.runtime.module import OnnxFile, make_runner
from rtswap.weights import cards
from rtswap.weights.state_dict import read_state_dict

IMAGENET_MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
IMAGENET_STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
TEMPLATES = {224: "arcface_112_v1", 512: "ffhq_512"}
"""SimSwap aligns its 224 crops to the frontal ArcFace template it was trained with and its 512
crops to FFHQ's."""


@dataclass
class SimSwapIdentity:
    embeddings: torch.Tensor
    """(V, 512) raw ArcFace embedding of each source view."""
    styles: torch.Tensor
    """(18, 1024) [γ | β] of every ID block's two style layers."""

    @property
    def views(self) -> int:
        return len(self.embeddings)


class SimSwapEngine:
    """Implements :class:`~rtswap.engines.base.SwapEngine` with :class:`SimSwapIdentity`."""

    name = "simswap"
    artifact_version = 1
    any_crop_size = False

    def __init__(
        self, generator: models.FileStatus, identity: models.FileStatus, settings: EngineSettings
    ) -> None:
        self.device = settings.device
        self._generator = generator_from_state_dict(read_state_dict(generator.path))
        size = self._generator.size
        self.template = Template(named_template(TEMPLATES[size], size), size)
        self._files = {"generator_sha256": generator.sha256, "identity_sha256": identity.sha256}
        self._identity_file = identity
        self.backend = choose_backend(settings.backend, self.device)
        dtype = check_precision(self.backend, self.device, settings.precision)
        self._runner = _runner(self.backend, self._generator, generator, settings, dtype)

    @classmethod
    def open(cls, settings: EngineSettings) -> SimSwapEngine:
        """The 512 generator if its file is there, else the 224 one; the converted ArcFace weights
        if there, else the ONNX export."""
        folder = cards.models_dir(settings.models_dir)
        found = cards.cards_for(cls.name)
        by_file = {c.file: c for c in found}
        generators = [by_file["simswap_512.pth"], by_file["simswap_224.pth"]]
        arcfaces = [by_file["simswap_arcface.safetensors"], by_file["simswap_arcface.onnx"]]
        generator, arcface = models.require_all([generators, arcfaces], folder)
        return cls(generator, arcface, settings)

    def params(self) -> dict[str, object]:
        return dict(self._files)

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        """SimSwap's identity: the source's own crop shrunk to 112 px, ImageNet-normalised,
        through its ArcFace; the latent is the L2-normalised (mean) embedding."""
        crops = torch.cat([v.crop for v in views]).cpu()
        small = realign(crops, self.template, self.template.scaled(112))
        embeddings = self._embedder()((small - IMAGENET_MEAN) / IMAGENET_STD)
        latent = F.normalize(F.normalize(embeddings, dim=1).mean(dim=0), dim=0)
        with torch.inference_mode():  # on the generator where the runner keeps it: never moved
            weight = next(self._generator.parameters())
            styles = self._generator.styles(latent.to(weight.device, weight.dtype)).float().cpu()
        return {"embeddings": embeddings, "styles": styles}

    def load(self, tensors: dict[str, torch.Tensor]) -> SimSwapIdentity:
        return SimSwapIdentity(tensors["embeddings"].to(self.device), tensors["styles"].to(self.device))

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: SimSwapIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        swapped = self._runner(crops, identity.styles).to(self.device).clamp(0.0, 1.0)
        return swapped, mesh_mask(faces.landmarks, crops.shape[-1])

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        self._runner.warmup(batch_sizes)

    def _embedder(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """SimSwap's ArcFace, loaded when a source is prepared (a cached source needs none)."""
        path = self._identity_file.path
        if path.suffix == ".onnx":
            from rtswap.engines.arcface import ArcFace

            ArcFace(path)  # checks the layout: one 112 px image in, 512-d out
            from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

            return OnnxRuntimeRunner(path, torch.device("cpu"))
        network = arcface_from_state_dict(read_state_dict(path))

        def embed(faces: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return network(faces)

        return embed


def export_onnx(generator: SimSwapGenerator, path: Path) -> Path:
    """The generator's target path as ONNX (inputs ``target`` with a batch axis and ``styles``),
    for onnxruntime and TensorRT; checked against PyTorch by the tests."""
    path.parent.mkdir(parents=True, exist_ok=True)
    example = _example(generator)
    tmp = path.with_name(f".tmp-{path.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated; it needs no onnxscript
        torch.onnx.export(
            generator.eval(),
            example,
            str(tmp),
            dynamo=False,
            input_names=["target", "styles"],
            output_names=["output"],
            dynamic_axes={"target": {0: "batch"}, "output": {0: "batch"}},
            opset_version=17,
        )
    tmp.replace(path)
    return path


def _example(generator: SimSwapGenerator) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of one and a set of styles: the shapes every compiled form is built for."""
    with torch.inference_mode():
        styles = generator.styles(torch.zeros(512))
    return torch.zeros(1, 3, generator.size, generator.size), torch.zeros_like(styles)


def _runner(
    backend: str,
    generator: SimSwapGenerator,
    checkpoint: models.FileStatus,
    settings: EngineSettings,
    dtype: torch.dtype,
) -> Runner:
    build = cards.models_dir(settings.models_dir) / "build"
    name = f"simswap-{generator.size}-{checkpoint.sha256[:16]}"
    onnx = OnnxFile(build / f"{name}.onnx", name, build, export=partial(export_onnx, generator))
    return make_runner(
        backend, settings.device, settings.precision, dtype, _example(generator), lambda: generator, onnx
    )
