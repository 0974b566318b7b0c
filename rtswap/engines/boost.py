"""Resolution boost ("pixel boost" in Rope and FaceFusion): a model with a fixed input size swaps
a crop k times larger as its k² interleaved sub-grids, which are interleaved back afterwards.

The ``--boost`` flag is declared here, once, for the engines of 128 px models that take it
(inswapper and the ``onnx:NAME`` swappers); each lists ``boost`` in its ``FLAGS``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rtswap.config import EngineOptions
from rtswap.errors import InputError

if TYPE_CHECKING:
    import torch

FACTORS = (1, 2, 3, 4)


@dataclass(frozen=True)
class BoostOptions(EngineOptions):
    boost: int = 1
    """The crop is the model's size times this, swapped as boost² interleaved sub-grids."""

    def __post_init__(self) -> None:
        if self.boost not in FACTORS:
            raise InputError(f"--boost {self.boost}: choose 1, 2, 3 or 4")


def add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--boost",
        type=int,
        choices=FACTORS,
        default=1,
        help="inswapper and onnx:NAME: swap at K times the model's size as K² interleaved sub-grids "
        "(sharper, K² times the work; default: 1)",
    )


def options(args: argparse.Namespace) -> BoostOptions:
    return BoostOptions(boost=args.boost)


def split_subgrids(crops: torch.Tensor, k: int) -> torch.Tensor:
    """(B, C, S·k, S·k) -> (B·k², C, S, S): item b·k² + i·k + j is crops[b, :, i::k, j::k]."""
    b, c, h, w = crops.shape
    grids = crops.reshape(b, c, h // k, k, w // k, k).permute(0, 3, 5, 1, 2, 4)
    return grids.reshape(b * k * k, c, h // k, w // k)


def merge_subgrids(grids: torch.Tensor, k: int) -> torch.Tensor:
    """The inverse of :func:`split_subgrids`."""
    n, c, h, w = grids.shape
    b = n // (k * k)
    return grids.reshape(b, k, k, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(b, c, h * k, w * k)
