"""How to swap, as one typed object: the CLI builds it, and the Python API, ``rtswap bench``,
``rtswap serve`` and the Ray replicas take it as it is. Imports nothing of rtswap's but the
runtime's names, and no torch (``--help`` reads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rtswap.errors import InputError
from rtswap.runtime import BACKENDS, PRECISIONS, Precision


@dataclass(frozen=True)
class EngineOptions:
    """An engine's own options: each engine that has any subclasses this in its package
    (``rtswap.engines.NAME.Options``), with its flags declared there."""


@dataclass(frozen=True)
class SwapConfig:
    engine: str = "warp"
    """warp, inswapper, simswap, megafs, onnx:NAME (a model card's swapper) or a card file (.toml)."""
    device: str = "auto"
    """auto (CUDA if present, else CPU), cpu or cuda[:N]; resolved where the engine is made (a Ray
    replica resolves its own)."""
    backend: str = "auto"
    """How neural networks run: auto, eager, inductor, onnxruntime or tensorrt."""
    precision: Precision = "fp32"
    models_dir: Path | None = None
    """Where model files are looked for (None: ``$RTSWAP_MODELS`` or the user data folder)."""
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    """The engine's own options (its ``Options``; the defaults when this is the base class)."""
    keep_occluders: bool = True
    """What covers a target face (hair, glasses frames, a hand) stays on top of the swap."""
    landmarks: str = "auto"
    """Face analysis: mediapipe (its CPU graphs), torch (their PyTorch ports, on the device) or
    auto (torch on CUDA, else mediapipe)."""
    shape: str = "target"
    """Whose face shape the swap has: the target's, or the source's (warp only)."""
    masks: tuple[str, ...] = ("skin",)
    """What of a target face is swapped, combined (``--mask``: box, skin, occlusion, region; see
    :mod:`rtswap.plugins.masks`)."""
    mask_regions: tuple[str, ...] = ("skin", "brows", "eyes", "nose", "mouth", "lips")
    """With ``region``: the face parser's regions that are swapped."""
    enhancer: str | None = None
    """A face restorer run on each swapped face before the paste (a card's name in
    :mod:`rtswap.plugins.restorers`, on the user's file), or None."""
    enhancer_blend: float = 0.8
    """How much of the restored face goes into the swap, 0 to 1."""
    enhancer_fidelity: float = 0.5
    """A restorer's fidelity input where its card names one (CodeFormer: 0 restores most, 1 keeps
    the face most as it was)."""

    def __post_init__(self) -> None:
        """What the command line's parser checks, checked for the Python API too (a typo would
        otherwise change nothing, silently)."""
        if self.backend not in ("auto", *BACKENDS):
            raise InputError(f"backend {self.backend!r}: choose auto, {', '.join(BACKENDS)}")
        if self.precision not in PRECISIONS:
            raise InputError(f"precision {self.precision!r}: choose {', '.join(PRECISIONS)}")
        for name in ("enhancer_blend", "enhancer_fidelity"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} {getattr(self, name)}: must be from 0 to 1")
