"""Any identity-conditioned ONNX swapper, described by a TOML model card (``--engine onnx:NAME``).

A card's ``[swapper]`` table says how to feed and read the file:

    size = 256                     # the model's crop side, px
    template = "arcface_128"       # arcface_112, arcface_112_v1, arcface_128 or ffhq_512
    target = "target"              # input name of the (1, 3, size, size) RGB crop
    source = "source"              # input name of the (1, 512) source embedding
    output = "output"              # output name of the swapped crop
    mask = "mask"                  # optional output name of a (1, 1, size, size) mask in [0, 1]
    mean = [0.5, 0.5, 0.5]         # the crop goes in as (rgb - mean) / std, rgb in [0, 1]
    std = [0.5, 0.5, 0.5]
    denormalise = true             # the output comes back as output * std + mean (else as is)
    identity = "w600k_r50.onnx"    # the ArcFace model that embeds the source
    converter = ""                 # optional model that maps that embedding to the swapper's own
    embedding = "normalised"       # normalised, raw, or emap (inswapper: · the file's emap)

The registry's view of the engine (:mod:`rtswap.engines`): its names, options and layout checks,
importable without torch; the engine itself is in :mod:`.engine`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtswap.engines import boost
from rtswap.weights import onnx_io

if TYPE_CHECKING:
    from rtswap.engines.base import EngineSettings, SwapEngine
    from rtswap.weights.cards import ModelCard

NAME = "onnx:NAME"
PLACE = 4
"""Where it is listed (--help, errors, rtswap engines list)."""
SUMMARY = "any identity-conditioned ONNX swapper a model card describes (HyperSwap, GHOST, SimSwap ONNX, ...)"
FLAGS = ("boost",)
"""``--boost`` (:mod:`rtswap.engines.boost`) is shown in inswapper's ``--help`` group; read here too."""
Options = boost.BoostOptions
options = boost.options


def handles(name: str) -> bool:
    return name.startswith("onnx:") or name.endswith(".toml")


def open(settings: EngineSettings) -> SwapEngine[Any]:
    from rtswap.engines.onnx_swapper.engine import OnnxSwapEngine, card_path_engine

    boost = settings.own(Options).boost
    if settings.name.endswith(".toml"):
        return card_path_engine(Path(settings.name), settings, boost)
    return OnnxSwapEngine.open(settings, boost)


def _card_layout(model: Any, card: ModelCard) -> bool:
    from rtswap.engines.onnx_swapper.io import mismatch

    return mismatch(model, card) is None


LAYOUTS = {
    "card": _card_layout,
    "arcface": lambda model, card: onnx_io.is_arcface(model),
    "converter": lambda model, card: onnx_io.is_converter(model),
}
"""The generic swapper's own layout, and those of the identity models and converters its cards
name (ONNX files any swapper may use)."""
