"""inswapper-128 on the user's own ``inswapper_128.onnx`` and ``w600k_r50.onnx``.

The registry's view of the engine (:mod:`rtswap.engines`): its name, options, flags and layout
checks, importable without torch; the engine itself is in :mod:`.engine`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtswap.engines import boost

if TYPE_CHECKING:
    from rtswap.engines.base import EngineSettings, SwapEngine
    from rtswap.weights.cards import ModelCard

NAME = "inswapper"
PLACE = 1
"""Where it is listed (--help, errors, rtswap engines list)."""
SUMMARY = "insightface's inswapper_128 (your own inswapper_128.onnx and w600k_r50.onnx)"
FLAGS = ("boost",)
Options = boost.BoostOptions
add_arguments, options = boost.add_arguments, boost.options


def open(settings: EngineSettings) -> SwapEngine[Any]:
    from rtswap.engines.inswapper.engine import InswapperEngine

    return InswapperEngine.open(settings, settings.own(Options).boost)


def _layout(model: Any, card: ModelCard) -> bool:
    from rtswap.engines.inswapper import layout

    return layout.matches(model)


LAYOUTS = {"inswapper": _layout}
