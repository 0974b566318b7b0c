"""Swap engines behind one protocol (:mod:`rtswap.engines.base`) and a registry.

Each engine lives in its own folder with its TOML model cards; callers get a
:class:`~rtswap.engines.base.SwapEngine` from :func:`create_engine` and never see the concrete class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtswap.errors import InputError

if TYPE_CHECKING:  # the registry's names are read by --help, which must not import torch
    from rtswap.engines.base import EngineSettings, SwapEngine

ENGINES = ("warp", "inswapper")
"""Engine names, the built-in default first."""


def create_engine(settings: EngineSettings) -> SwapEngine[Any]:
    """The engine ``settings.name``, ready to prepare sources and swap. A neural engine whose
    model files or runtime are missing raises an error that says what to install or add."""
    if settings.name == "warp":
        from rtswap.engines.warp import WarpEngine

        return WarpEngine(settings.crop_size, settings.device)
    if settings.name == "inswapper":
        from rtswap.engines.inswapper import InswapperEngine

        return InswapperEngine.open(settings)
    raise InputError(f"unknown engine {settings.name!r}; available: {', '.join(ENGINES)}")
