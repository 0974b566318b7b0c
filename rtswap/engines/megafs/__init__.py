"""MegaFS on its published checkpoints (``--engine megafs``).

The registry's view of the engine (:mod:`rtswap.engines`): its name, options, flags and layout
checks, importable without torch; the engine itself is in :mod:`.engine`."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rtswap.config import EngineOptions
from rtswap.errors import InputError

if TYPE_CHECKING:
    from rtswap.engines.base import EngineSettings, SwapEngine
    from rtswap.weights.cards import ModelCard

NAME = "megafs"
PLACE = 3
"""Where it is listed (--help, errors, rtswap engines list)."""
SUMMARY = "MegaFS (its published FTM and StyleGAN2 checkpoints)"
FLAGS = ("megafs_resolution",)
RESOLUTIONS = (1024, 512, 256)


@dataclass(frozen=True)
class Options(EngineOptions):
    resolution: int = 1024
    """StyleGAN2's synthesis stops at this resolution's toRGB (1024, 512 or 256): the crop size."""

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise InputError(f"--megafs-resolution {self.resolution}: choose 1024, 512 or 256")


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--megafs-resolution",
        type=int,
        choices=RESOLUTIONS,
        default=1024,
        help="megafs: stop StyleGAN2's synthesis at this resolution's RGB output and swap at that crop "
        "size; lower is faster and less detailed (default: 1024)",
    )


def options(args: argparse.Namespace) -> Options:
    return Options(resolution=args.megafs_resolution)


def open(settings: EngineSettings) -> SwapEngine[Any]:
    from rtswap.engines.megafs.engine import MegaFSEngine

    return MegaFSEngine.open(settings, settings.own(Options).resolution)


def _ftm_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.megafs.model import encoder_from_state_dict, ftm_from_state_dict, part

    encoder_from_state_dict(part(state, "e."))
    ftm_from_state_dict(part(state, "s."))
    return True


def _stylegan2_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.megafs.model import part
    from rtswap.engines.megafs.stylegan2 import synthesis_from_state_dict

    synthesis_from_state_dict(part(state, "g_ema."))
    return True


LAYOUTS = {"megafs-ftm": _ftm_layout, "stylegan2": _stylegan2_layout}
