"""SimSwap on its official checkpoints (``--engine simswap``).

The registry's view of the engine (:mod:`rtswap.engines`): its name and layout checks, importable
without torch (it has no options of its own); the engine itself is in :mod:`.engine`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rtswap.engines.base import EngineSettings, SwapEngine
    from rtswap.weights.cards import ModelCard

NAME = "simswap"
PLACE = 2
"""Where it is listed (--help, errors, rtswap engines list)."""
SUMMARY = "SimSwap 224 or 512 (its published checkpoints and ArcFace)"


def open(settings: EngineSettings) -> SwapEngine[Any]:
    from rtswap.engines.simswap.engine import SimSwapEngine

    return SimSwapEngine.open(settings)


def _generator_layout(size: int) -> Callable[[Any, ModelCard], bool]:
    def right_size(state: Any, card: ModelCard) -> bool:
        from rtswap.engines.simswap.model import generator_from_state_dict

        return generator_from_state_dict(state).size == size

    return right_size


def _arcface_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.simswap.model import arcface_from_state_dict

    arcface_from_state_dict(state)
    return True


LAYOUTS = {
    "simswap-224": _generator_layout(224),
    "simswap-512": _generator_layout(512),
    "simswap-arcface": _arcface_layout,
}
