"""A face restorer on the swapped faces: each face realigned from the engine's crop into the
restorer's (its card's template and size), restored, and what the restorer changed brought back
into the swap (``--enhancer-blend`` of it, by :class:`~rtswap.generate.face_swap.FaceSwap`;
outside the restorer's crop, nothing). The paste then uses the swap's own masks: what covers the
face stays on top of the restored face as of the swapped one."""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

from rtswap.engines import models
from rtswap.errors import InputError
from rtswap.geometry.align import Template, invert_affine, named_template, warp_affine
from rtswap.plugins.restorers import ROLE, names
from rtswap.plugins.runner import plugin_runner
from rtswap.runtime import plugin_backend
from rtswap.weights import cards


class Restorer:
    """Restores (B, 3, S, S) swapped crops in [0, 1], given their faces' landmarks in crop pixels."""

    def __init__(
        self,
        card: cards.ModelCard,
        found: models.FileStatus,
        device: torch.device,
        backend: str,
        build: Path,
        blend: float,
        fidelity: float,
    ) -> None:
        """``blend``: how much of the restored face goes into the swap (0 to 1); ``fidelity``:
        the value of the file's fidelity input, if its card names one (CodeFormer's)."""
        spec = card.restorer
        self.name, self.device, self.blend = card.engine, device, blend
        self.size = int(spec["size"])
        self.template = Template(named_template(spec["template"], self.size), self.size)
        self._extra = [torch.tensor([fidelity], dtype=torch.float64)] if spec.get("weight") else []
        inputs = [spec["input"], *([spec["weight"]] if spec.get("weight") else [])]
        example = (torch.zeros(1, 3, self.size, self.size), *self._extra)
        self._runner = plugin_runner(card, found, device, backend, build, inputs, example)
        self.costs_ms: deque[float] = deque(maxlen=1024)
        """Milliseconds per face of the latest runs (``rtswap bench``)."""

    @classmethod
    def open(
        cls,
        name: str,
        device: torch.device,
        backend: str = "auto",
        models_dir: Path | None = None,
        blend: float = 0.8,
        fidelity: float = 0.5,
    ) -> Restorer:
        """Restorer ``name`` on its file in the models folder; one line if either is missing."""
        card = next((c for c in cards.all_cards() if c.role == ROLE and c.engine == name), None)
        if card is None:
            raise InputError(f"unknown --enhancer {name!r}; available: {', '.join(names())}")
        folder = cards.models_dir(models_dir)
        found = models.require(card, folder)
        chosen = plugin_backend(backend, device, f"--enhancer {name}")
        if card.restorer.get("weight") and chosen == "tensorrt":  # TensorRT takes no float64 input
            chosen = plugin_backend("onnxruntime", device, f"--enhancer {name}")
        return cls(card, found, device, chosen, folder / "build", blend, fidelity)

    def warmup(self) -> None:
        self._runner.warmup([1])

    def change(self, swapped: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """What the restorer changes in each of ``swapped`` (B, 3, S, S) in [0, 1], whose faces'
        landmarks in crop pixels are ``landmarks`` (B, 478, 2), in those crops' pixels. Only the
        change goes back (not the restored crop), so the two resamplings do not soften the swap;
        outside the restorer's crop it is 0. Safe to call from several threads (sessions)."""
        start = time.perf_counter()
        crop = swapped.shape[-1]
        into = np.stack([self.template.matrix(face) for face in landmarks.cpu().numpy()])  # crop -> restorer
        faces = warp_affine(swapped, np.stack([invert_affine(m) for m in into]), self.size, self.size)
        restored = (self._runner(faces * 2 - 1, *self._extra).to(self.device).clamp(-1, 1) + 1) / 2
        change = warp_affine(restored - faces, into, crop, crop)
        self.costs_ms.append((time.perf_counter() - start) * 1000 / len(swapped))
        return change
