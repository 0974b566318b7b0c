"""The seam every swap engine plugs into: what it is given and what it gives back.

An engine works in a square crop aligned to its own five-point template. Ahead of time it turns
aligned views of the source into named tensors (cached on disk by the identity store) and loads
them back as an identity; per frame it swaps a batch of aligned target crops for one identity and
returns the swapped crops and a mask. Nothing outside an engine's folder names its classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import numpy as np
import torch

from rtswap.config import EngineOptions, SwapConfig
from rtswap.device import resolve_device
from rtswap.errors import InputError
from rtswap.frame import Face
from rtswap.geometry.align import Template
from rtswap.runtime import Precision

OptionsT = TypeVar("OptionsT", bound=EngineOptions)


@dataclass(frozen=True)
class EngineSettings:
    """How to build an engine: :class:`~rtswap.config.SwapConfig`'s engine fields, the device
    resolved."""

    name: str = "warp"
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    backend: str = "auto"
    """How neural networks run: auto, eager, inductor, onnxruntime or tensorrt."""
    precision: Precision = "fp32"
    models_dir: Path | None = None
    """Where model files are looked for (default: ``$RTSWAP_MODELS`` or the user data folder)."""
    options: EngineOptions = field(default_factory=EngineOptions)
    """The engine's own options (its package's ``Options``)."""

    @classmethod
    def of(cls, config: SwapConfig) -> EngineSettings:
        return cls(
            config.engine,
            resolve_device(config.device),
            config.backend,
            config.precision,
            config.models_dir,
            config.engine_options,
        )

    def own(self, kind: type[OptionsT]) -> OptionsT:
        """The engine's options as its own ``kind``: the defaults if none were given; one line
        if another engine's were."""
        if type(self.options) is EngineOptions:
            return kind()
        if not isinstance(self.options, kind):
            raise InputError(
                f"{self.name} was given another engine's options ({type(self.options).__module__})"
            )
        return self.options


@dataclass
class AlignedView:
    """One face of the source, aligned into the engine's crop."""

    crop: torch.Tensor
    """(1, 3, S, S) float [0, 1] RGB on the engine's device."""
    landmarks: np.ndarray
    """(478, 2) float in crop pixels."""
    face: Face
    """The face in its source image (head pose)."""
    sharpness: float
    """Variance of the Laplacian of the grey crop: higher is sharper."""
    depth: np.ndarray
    """(478,) float the landmarks' depth (mediapipe's z) in crop pixels."""
    covered: torch.Tensor | None = None
    """(1, 1, S, S) in [0, 1]: what a face parser marks on the source as not its face's own
    (glasses, hair; ``--mask region``), to be left out of what is prepared; None without one."""


@dataclass
class FaceBatch:
    """What an engine may use about the target faces besides their pixels."""

    landmarks: torch.Tensor
    """(B, 478, 2) float32 target landmarks in crop pixels, on the engine's device."""
    depth: torch.Tensor
    """(B, 478) float32 their depth (mediapipe's z: larger is farther) in crop pixels."""
    poses: list[tuple[float, float]]
    """Each target's (yaw, pitch) in degrees."""


class Identity(Protocol):
    """A prepared source as an engine holds it in memory."""

    @property
    def views(self) -> int:
        """How many source views it was made from."""
        ...


class ShapedIdentity(Identity, Protocol):
    """An identity that knows the source's face shape, for ``--shape source``."""

    @property
    def shape(self) -> np.ndarray:
        """(478, 3) float: the source's landmarks and depth in crop pixels, frontal."""
        ...


IdentityT = TypeVar("IdentityT", bound=Identity)


class SwapEngine(Protocol[IdentityT]):
    name: str
    template: Template
    """The five-point template and crop size the engine aligns faces to."""
    artifact_version: int
    """Version of what :meth:`prepare` returns: another version in the cache means rebuild."""
    any_crop_size: bool
    """Whether :meth:`swap` takes crops smaller than ``template.size`` (small faces)."""
    device: torch.device
    backend: str
    """The runtime backend its networks run on (``eager`` for plain tensor code)."""

    def params(self) -> dict[str, object]:
        """What the prepared artifacts depend on (crop size, model files' SHA-256): cached
        artifacts with other params are rebuilt."""
        ...

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        """Everything the engine needs from the source, computed once, as named tensors."""
        ...

    def load(self, tensors: dict[str, torch.Tensor]) -> IdentityT:
        """The identity from :meth:`prepare`'s tensors (fresh or read back from the cache)."""
        ...

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: IdentityT
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """crops: (B, 3, S, S) float [0, 1] RGB aligned targets. Returns the swapped crops
        (B, 3, S, S) in [0, 1] and a mask (B, 1, S, S) in [0, 1]: where the composite may use
        the swapped pixels."""
        ...

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Compile and run once at these batch sizes, so the first live frame is not slow."""
        ...
