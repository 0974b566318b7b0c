"""The composite's sizes for a crop, shared by its two implementations."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class BlendSizes:
    """The composite's sizes for a crop. The masks' shapes are smooth at the scale of a pixel, so
    their morphology and blurs run at half the crop's resolution (a quarter of the work)."""

    gap_half: int
    """Holes in the coverage narrower than this (at half resolution) are filled: a closed mouth's
    lip line, not an open mouth."""
    erode: int
    """The blend mask fades to zero over this many pixels inside the face's edge."""
    dilate_half: int
    blur_half: int
    """The paste mask: the face dilated by this, then blurred by that (half resolution)."""
    levels: int
    """Pyramid levels of the multi-band blend."""

    @classmethod
    def of(cls, size: int, levels_fewer: int = 0) -> BlendSizes:
        return cls(
            gap_half=max(3, size // 80),
            erode=max(1, size // 256),
            dilate_half=max(1, size // 80),
            blur_half=max(1, size // 128),
            levels=max(2, int(math.log2(size)) - 3 - levels_fewer),
        )
