"""The ``inswapper`` engine: insightface's inswapper-128 on the user's own checkpoint.

Ahead of time, per source: the ArcFace embedding of every view, the latent (embedding · emap) and
the 12 style vectors of the 6 style blocks. Per frame only the target path runs: the aligned
128 px crop (or 128·k px, as k² interleaved 128 px sub-grids with ``boost`` k) through the
generator on the chosen backend.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import torch
import torch.nn.functional as F

from rtswap.blend.face_mask import mesh_mask
from rtswap.engines import models
from rtswap.engines.arcface import ArcFace
from rtswap.engines.base import AlignedView, EngineSettings, FaceBatch
from rtswap.engines.boost import merge_subgrids, split_subgrids
from rtswap.engines.inswapper import graph, layout
from rtswap.engines.inswapper.model import InswapperGenerator, latent, styles
from rtswap.geometry.align import Template, arcface_template
from rtswap.runtime import choose_backend
from rtswap.runtime.base import Runner, check_precision
from rtswap.runtime.module import OnnxFile, make_runner
from rtswap.weights import cards

log = logging.getLogger("rtswap")

SIZE = 128


@dataclass
class InswapperIdentity:
    embeddings: torch.Tensor
    """(V, 512) raw ArcFace embedding of each source view."""
    latent: torch.Tensor
    """(512,) the source latent the ONNX file takes."""
    styles: torch.Tensor
    """(12, 2C) [γ | β] of each style convolution: what the target path takes."""

    @property
    def views(self) -> int:
        return len(self.embeddings)


class InswapperEngine:
    """Implements :class:`~rtswap.engines.base.SwapEngine` with :class:`InswapperIdentity`."""

    name = "inswapper"
    artifact_version = 1
    any_crop_size = False

    def __init__(
        self, swapper: models.FileStatus, arcface: models.FileStatus, settings: EngineSettings, boost: int
    ) -> None:
        """``boost``: the crop is 128·boost px, swapped as boost² interleaved sub-grids."""
        self.device, self.boost = settings.device, boost
        self.template = Template(arcface_template(SIZE * self.boost), SIZE * self.boost)
        self._files = {"swapper_sha256": swapper.sha256, "arcface_sha256": arcface.sha256}
        self._arcface_path = arcface.path
        weights = layout.read(swapper.path)
        self._style_gemms, self._emap = weights.style_gemms, torch.from_numpy(weights.emap)
        self.backend = choose_backend(settings.backend, self.device)
        dtype = check_precision(self.backend, self.device, settings.precision)
        self._runner = _runner(self.backend, weights, swapper, self.device, dtype, settings, boost)
        self._takes_latent = self.backend == "onnxruntime"  # the file itself: Gemms inside

    @classmethod
    def open(cls, settings: EngineSettings, boost: int = 1) -> InswapperEngine:
        """The engine on the model files in the models folder (one-line errors if missing)."""
        folder = cards.models_dir(settings.models_dir)
        needed = cards.cards_for(cls.name)
        found = {f.card.role: f for f in models.require_all([[card] for card in needed], folder)}
        return cls(found["swapper"], found["identity"], settings, boost)

    def params(self) -> dict[str, object]:
        return dict(self._files)

    @cached_property
    def arcface(self) -> ArcFace:
        """Loaded only when a source has to be prepared: a cached source needs no embedding."""
        return ArcFace(self._arcface_path)

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        crops = torch.cat([v.crop for v in views])
        embeddings = self.arcface.embed(crops, self.template)
        mean = F.normalize(embeddings, dim=1).mean(dim=0)
        source = latent(mean, self._emap)
        return {"embeddings": embeddings, "latent": source, "styles": styles(source, self._style_gemms)}

    def load(self, tensors: dict[str, torch.Tensor]) -> InswapperIdentity:
        return InswapperIdentity(
            **{k: tensors[k].to(self.device, torch.float32) for k in ("embeddings", "latent", "styles")}
        )

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: InswapperIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """crops: (B, 3, 128·k, 128·k). Each is swapped as k² interleaved 128 px sub-grids, all
        faces' sub-grids in one batch. The mask is the target's face mesh."""
        condition = identity.latent if self._takes_latent else identity.styles
        swapped = merge_subgrids(self._runner(split_subgrids(crops, self.boost), condition), self.boost)
        return swapped.clamp(0.0, 1.0), mesh_mask(faces.landmarks, crops.shape[-1])

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        self._runner.warmup([b * self.boost**2 for b in batch_sizes])


def _runner(
    backend: str,
    weights: layout.InswapperWeights,
    swapper: models.FileStatus,
    device: torch.device,
    dtype: torch.dtype,
    settings: EngineSettings,
    boost: int,
) -> Runner:
    """The target path on ``backend``: the PyTorch module (eager, inductor), the user's file
    itself (onnxruntime), or a TensorRT plan built from the target path's ONNX."""
    example = (torch.zeros(1, 3, SIZE, SIZE), torch.zeros(len(weights.style_convs), 2 * weights.widths[-1]))
    build = cards.models_dir(settings.models_dir) / "build"
    if backend == "onnxruntime":  # the user's file: it takes the source's latent
        onnx = OnnxFile(swapper.path, swapper.sha256, build)
        example = (example[0], torch.zeros(weights.emap.shape[1]))
    else:
        onnx = OnnxFile(
            build / f"inswapper-target-{swapper.sha256[:16]}.onnx",
            f"{swapper.sha256}:target-path:{graph.OPSET}",
            build,
            export=lambda path: graph.save(graph.build(weights, source_path=False), path),
            typical_batch=boost**2,
        )
    return make_runner(
        backend, device, settings.precision, dtype, example, lambda: InswapperGenerator(weights), onnx
    )
