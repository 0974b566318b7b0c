"""Resolution boost ("pixel boost" in Rope and FaceFusion): a model with a fixed input size swaps
a crop k times larger as its k² interleaved sub-grids, which are interleaved back afterwards."""

from __future__ import annotations

import torch


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
