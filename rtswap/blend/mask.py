"""Soft face masks in crop space.

Morphology and box blurs are separable, and computed along rows then columns from shifted views:
a running extreme by doubling windows (a few operations whatever the radius) and a box sum as
the difference of a cumulative sum. On CPU that is much faster than ``max_pool2d``/``avg_pool2d``
with stride 1 (docs/speed.md), each is a handful of tensor operations (each one a round trip
through the interpreter, which the pipeline's threads share), and it runs unchanged on CUDA.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

_DIMS = ((3, (1, 1, 0, 0), (1, 0, 0, 0)), (2, (0, 0, 1, 1), (0, 0, 1, 0)))
"""Rows then columns: the dimension, and ``F.pad``'s padding of one pixel on each side of it and
of one in front."""


def _extreme(
    x: torch.Tensor, radius: int, combine: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], fill: float
) -> torch.Tensor:
    """``combine`` (maximum or minimum) of each pixel and its ``radius`` neighbours along rows,
    then along columns, ``fill`` beyond the edges. The window of 2r+1 is two overlapping windows
    of the largest power of two that fits, each built by doubling."""
    window = 2 * radius + 1
    for dim, sides, _ in _DIMS:
        span, width, n = F.pad(x, tuple(radius * p for p in sides), value=fill), 1, x.shape[dim]
        while 2 * width <= window:  # span: the extreme over ``width`` pixels from each
            length = span.shape[dim] - width
            span = combine(span.narrow(dim, 0, length), span.narrow(dim, width, length))
            width *= 2
        x = combine(span.narrow(dim, 0, n), span.narrow(dim, window - width, n))
    return x


def _box_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """The mean over the (2r+1)² square around each pixel, edges replicated: along rows then
    columns, the difference of the cumulative sum at a window's end and before its start."""
    window = 2 * radius + 1
    for dim, sides, front in _DIMS:
        summed = F.pad(x, tuple(radius * p for p in sides), mode="replicate").cumsum(dim)
        n = x.shape[dim]
        x = (summed.narrow(dim, window - 1, n) - F.pad(summed, front).narrow(dim, 0, n)) / window
    return x


def dilate(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Maximum over the (2r+1)² square around each pixel. mask: (B, 1, H, W)."""
    return _extreme(mask, radius_px, torch.maximum, float("-inf"))


def erode(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Minimum over the (2r+1)² square around each pixel."""
    return _extreme(mask, radius_px, torch.minimum, float("inf"))


def close_small_gaps(mask: torch.Tensor, gap_px: int) -> torch.Tensor:
    """Morphological closing: fills holes narrower than ``gap_px`` (a closed mouth's lip line),
    keeps larger ones (an open mouth). mask: (B, 1, H, W) in [0, 1]."""
    radius = gap_px // 2
    return erode(dilate(mask, radius), radius)


def blur(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Box blur applied twice (close to a Gaussian), same size out, edges replicated."""
    return _box_mean(_box_mean(mask, radius_px), radius_px)


def soft_erode(mask: torch.Tensor, radius_px: int) -> torch.Tensor:
    """Mask that is 1 well inside and fades to 0 at the boundary.

    A hard erosion by ``radius_px`` then a box blur over the pixels less than ``radius_px`` away
    (the support of the cone kernel SimSwap and MegaFS use, but separable): 0 at and outside the
    original boundary, 1 from ``2 * radius_px - 1`` inside it, a linear ramp in between.
    (SimSwap's min-then-convolve recipe leaves ~0.75 at the boundary and spreads outward, which
    is not what a paste mask wants.)
    """
    reach = radius_px - 1
    return _box_mean(erode(mask, radius_px), reach)


def feathered_box(like: torch.Tensor) -> torch.Tensor:
    """The whole aligned crop as a mask (``--mask box``), shaped as ``like`` (B, 1, S, S): 1 inside,
    falling to 0 over the crop's outer sixteenth."""
    size = like.shape[-1]
    position = torch.arange(size, device=like.device, dtype=like.dtype)
    ramp = (torch.minimum(position, size - 1 - position) / (size / 16)).clamp(0, 1)
    return (ramp[:, None] * ramp[None, :]).expand_as(like)
