"""The built-in ``warp`` engine (no downloaded weights).

The registry's view of the engine (:mod:`rtswap.engines`): its name, options and flags, importable
without torch; the engine itself is in :mod:`.engine`."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtswap.config import EngineOptions
from rtswap.errors import InputError

if TYPE_CHECKING:
    from rtswap.engines.base import EngineSettings, SwapEngine

log = logging.getLogger("rtswap")

NAME = "warp"
PLACE = 0
"""Where it is listed (--help, errors, rtswap engines list)."""
SUMMARY = "built in, needs no downloaded weights: the source's face warped onto the target's mesh"
FLAGS = ("crop_size",)
CROP_STEP, MIN_CROP, MAX_CROP = 8, 64, 2048
"""``--crop-size``: the skin model works at half the crop and traces what reaches the outline in
cells of 4 of those pixels, so the side is a multiple of 8 (others failed inside it); under 64 px
a face keeps no features, and no frame holds a face over 2048 px."""


@dataclass(frozen=True)
class Options(EngineOptions):
    crop_size: int = 256
    """Side of the aligned face crop in px: larger is sharper and slower."""

    def __post_init__(self) -> None:
        size = self.crop_size
        if size % CROP_STEP or not MIN_CROP <= size <= MAX_CROP:
            raise InputError(
                f"--crop-size {size}: must be a multiple of {CROP_STEP} from {MIN_CROP} to {MAX_CROP}"
            )


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--crop-size",
        type=int,
        default=256,
        metavar="PX",
        help=f"warp: side of the aligned face crop, a multiple of {CROP_STEP} from {MIN_CROP} to {MAX_CROP}; "
        "larger is sharper and slower (default: 256)",
    )


def options(args: argparse.Namespace) -> Options:
    return Options(crop_size=args.crop_size)


def open(settings: EngineSettings) -> SwapEngine[Any]:
    """The engine; ``--precision`` fp16 or bf16 without CUDA is refused as for the neural engines,
    and a backend or precision asked for is said to leave the warp itself as it is."""
    from rtswap.engines.warp.engine import WarpEngine
    from rtswap.runtime.base import check_precision

    check_precision("eager", settings.device, settings.precision)
    if settings.backend != "auto" or settings.precision != "fp32":
        log.info(
            "warp runs as plain tensor operations in fp32: --backend and --precision apply to "
            "restorers and mask models only"
        )
    return WarpEngine(settings.own(Options).crop_size, settings.device)
