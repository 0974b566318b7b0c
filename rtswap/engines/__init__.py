"""Swap engines behind one protocol (:mod:`rtswap.engines.base`) and a registry.

Each engine lives in its own folder with its TOML model cards; callers get a
:class:`~rtswap.engines.base.SwapEngine` from :func:`create_engine` and never see the concrete class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtswap.errors import InputError

if TYPE_CHECKING:  # the registry's names are read by --help, which must not import torch
    from rtswap.engines.base import EngineSettings, SwapEngine

ENGINES = ("warp", "inswapper", "simswap", "megafs")
"""The engines with code of their own, the built-in default first; any number of ``onnx:NAME``
engines come from model cards (:func:`rtswap.weights.cards.engine_names`)."""


def create_engine(settings: EngineSettings) -> SwapEngine[Any]:
    """The engine ``settings.name``, ready to prepare sources and swap. A neural engine whose
    model files or runtime are missing raises an error that says what to install or add."""
    if settings.name == "warp":
        from rtswap.engines.warp import WarpEngine

        return WarpEngine(settings.crop_size, settings.device)
    if settings.name == "inswapper":
        from rtswap.engines.inswapper import InswapperEngine

        return InswapperEngine.open(settings)
    if settings.name == "simswap":
        from rtswap.engines.simswap import SimSwapEngine

        return SimSwapEngine.open(settings)
    if settings.name == "megafs":
        from rtswap.engines.megafs import MegaFSEngine

        return MegaFSEngine.open(settings)
    if settings.name.startswith("onnx:"):
        from rtswap.engines.onnx_swapper import OnnxSwapEngine

        return OnnxSwapEngine.open(settings)
    if settings.name.endswith(".toml"):
        from pathlib import Path

        from rtswap.engines.onnx_swapper.engine import card_path_engine

        return card_path_engine(Path(settings.name), settings)
    raise InputError(
        f"unknown engine {settings.name!r}; available: {', '.join(ENGINES)}, onnx:NAME (rtswap engines list) "
        "or a model card file (.toml)"
    )
