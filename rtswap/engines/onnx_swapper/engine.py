"""The generic ONNX swapper: target crop and source embedding in, swapped crop (and a mask) out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch
import torch.nn.functional as F

from rtswap.blend.face_mask import mesh_mask
from rtswap.engines import models
from rtswap.engines.arcface import ArcFace
from rtswap.engines.base import AlignedView, EngineSettings, FaceBatch
from rtswap.engines.boost import merge_subgrids, split_subgrids
from rtswap.engines.onnx_swapper.io import mismatch
from rtswap.errors import InputError, ModelLoadError
from rtswap.geometry.align import Template, named_template
from rtswap.runtime import choose_backend
from rtswap.runtime.base import Runner, check_precision
from rtswap.runtime.module import OnnxFile, make_runner
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner
from rtswap.weights import cards, onnx_io

EMBEDDINGS = ("normalised", "raw", "emap")


@dataclass
class OnnxIdentity:
    embeddings: torch.Tensor
    """(V, 512) raw ArcFace embedding of each source view."""
    source: torch.Tensor
    """(D,) what the file's source input takes."""

    @property
    def views(self) -> int:
        return len(self.embeddings)


class OnnxSwapEngine:
    """Implements :class:`~rtswap.engines.base.SwapEngine` for any swapper its card describes."""

    artifact_version = 1
    any_crop_size = False

    def __init__(
        self,
        card: cards.ModelCard,
        found: dict[str, models.FileStatus],
        settings: EngineSettings,
        boost: int,
    ) -> None:
        """``boost``: the crop is the model's size times this, swapped as boost² sub-grids."""
        spec = card.swapper
        if spec.get("embedding", "normalised") not in EMBEDDINGS:
            raise InputError(f"{card.engine}: card's embedding must be one of {', '.join(EMBEDDINGS)}")
        self.name, self.spec, self.device, self.boost = (
            card.engine,
            spec,
            settings.device,
            boost,
        )
        size = int(spec["size"])
        self.template = Template(named_template(spec["template"], size * self.boost), size * self.boost)
        swapper = found["swapper"]
        model = onnx_io.load(swapper.path)
        problem = mismatch(model, card)
        if problem is not None:
            raise ModelLoadError(f"{swapper.path}: does not match its card ({card.engine}): {problem}")
        self._emap = (
            torch.tensor(onnx_io.initializers(model)[model.graph.initializer[-1].name])
            if spec.get("embedding") == "emap"
            else None
        )
        self._files = {f"{role}_sha256": status.sha256 for role, status in found.items()}
        self._identity_path = found["identity"].path
        self._converter_path = found["converter"].path if "converter" in found else None
        self.backend = choose_backend(settings.backend, self.device, onnx_only=card.engine)
        check_precision(self.backend, self.device, settings.precision)
        self._runner = self._make_runner(swapper, settings)
        mean, std = (
            torch.tensor(spec.get(k, default), dtype=torch.float32)
            for k, default in (("mean", [0.0] * 3), ("std", [1.0] * 3))
        )
        self._mean, self._std = mean.view(1, 3, 1, 1).to(self.device), std.view(1, 3, 1, 1).to(self.device)

    @classmethod
    def open(
        cls, settings: EngineSettings, boost: int = 1, card: cards.ModelCard | None = None
    ) -> OnnxSwapEngine:
        """The engine ``settings.name`` (``onnx:NAME``) or ``card``, on the files in the models folder."""
        folder = cards.models_dir(settings.models_dir)
        catalogue = cards.all_cards()
        if card is None:
            card = next((c for c in catalogue if c.engine == settings.name and c.role == "swapper"), None)
            if card is None:
                names = ", ".join(models.engine_names())
                raise InputError(
                    f"unknown engine {settings.name!r}; available: {names}, or a card file (.toml)"
                )
        needed = cards.files_of(card, catalogue)
        found = models.require_all([[c] for c in needed], folder)
        return cls(card, {f.card.role: f for f in found}, settings, boost)

    def params(self) -> dict[str, object]:
        return dict(self._files)

    @cached_property
    def arcface(self) -> ArcFace:
        return ArcFace(self._identity_path)

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        crops = torch.cat([v.crop for v in views])
        embeddings = self.arcface.embed(crops, self.template)
        kind = self.spec.get("embedding", "normalised")
        source = embeddings.mean(dim=0) if kind == "raw" else F.normalize(embeddings, dim=1).mean(dim=0)
        if self._converter_path is not None:
            source = OnnxRuntimeRunner(self._converter_path, torch.device("cpu"))(source[None])[0]
        if kind == "emap":
            assert self._emap is not None
            source = F.normalize(F.normalize(source, dim=0) @ self._emap, dim=0)
        elif kind == "normalised":
            source = F.normalize(source, dim=0)
        return {"embeddings": embeddings, "source": source}

    def load(self, tensors: dict[str, torch.Tensor]) -> OnnxIdentity:
        return OnnxIdentity(tensors["embeddings"].to(self.device), tensors["source"].to(self.device))

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: OnnxIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        grids = (split_subgrids(crops, self.boost) - self._mean) / self._std
        out = self._runner(grids, identity.source).to(self.device)
        image = out[:, :3] * self._std + self._mean if self.spec.get("denormalise", True) else out[:, :3]
        swapped = merge_subgrids(image, self.boost).clamp(0.0, 1.0)
        mask = mesh_mask(faces.landmarks, crops.shape[-1])
        if self.spec.get("mask"):
            mask = mask * merge_subgrids(out[:, 3:4], self.boost).clamp(0.0, 1.0)
        return swapped, mask

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        self._runner.warmup([b * self.boost**2 for b in batch_sizes])

    def _make_runner(self, swapper: models.FileStatus, settings: EngineSettings) -> Runner:
        size = int(self.spec["size"])
        example = (torch.zeros(1, 3, size, size), torch.zeros(1, int(self.spec.get("source_size", 512))))
        onnx = OnnxFile(
            swapper.path,
            swapper.sha256,
            cards.models_dir(settings.models_dir) / "build",
            inputs=[self.spec["target"], self.spec["source"]],
            outputs=[self.spec["output"], *([self.spec["mask"]] if self.spec.get("mask") else [])],
            max_batch=1,
            typical_batch=self.boost**2,
        )
        return make_runner(self.backend, self.device, settings.precision, torch.float32, example, onnx=onnx)


def card_path_engine(path: Path, settings: EngineSettings, boost: int = 1) -> OnnxSwapEngine:
    """The engine of a card file the user wrote (``--engine my-model.toml``)."""
    if not path.is_file():
        raise InputError(f"{path}: no such model card")
    card = cards.read_card(path.read_text())
    if card.layout != "card" or card.role != "swapper":
        raise InputError(f"{path}: not a generic swapper's card (needs role = 'swapper', layout = 'card')")
    return OnnxSwapEngine.open(settings, boost, card)
