"""``Compositor``: blends each swapped face into its target crop, what covers the face staying on
top (:mod:`rtswap.blend.occluders`)."""

from __future__ import annotations

import torch

from rtswap.blend.composite import composite
from rtswap.blend.mask import blur, dilate
from rtswap.blend.occluders.rims import rim_maps
from rtswap.blend.occluders.skin import occluders
from rtswap.blend.occluders.tracked import TrackedMaps
from rtswap.frame import SwapWork

_OCCLUDERS_EVERY = 3
"""A tracked face's occluders are looked for on every this many frames..."""
_GLASSES_EVERY = 30
"""...and its glasses' rims on every this many (they keep their place on the face, and a look
costs more; docs/speed.md)."""


class Compositor:
    """The composite of one stream's faces. Keeps what covers each tracked face between looks, so
    one compositor serves one stream, from one thread."""

    def __init__(self, keep_occluders: bool = True) -> None:
        """``keep_occluders``: what covers a target face (hair, glasses frames, a hand) stays on
        top of the swap."""
        self.keep_occluders = keep_occluders
        self.new_stream()

    def new_stream(self) -> None:
        """Forget what was kept from the frames of another stream (its track ids mean nothing
        here): called when a pipeline starts."""
        self._occluders = TrackedMaps(occluders, _OCCLUDERS_EVERY)
        self._glasses = TrackedMaps(_rims_widened, _GLASSES_EVERY)

    def warmup(self, size: int, device: torch.device) -> None:
        """What is slow on its first call (OpenCV builds its colour tables on first use)."""
        crop = torch.zeros(1, 3, size, size, device=device)
        composite(crop, crop, torch.ones(1, 1, size, size, device=device))

    def __call__(self, work: SwapWork, blend_levels_fewer: int = 0) -> None:
        """Blend the swapped crops into their targets, what covers the faces staying on top:
        sets ``work.changes``."""
        mask, covered = work.mask, None
        if self.keep_occluders:
            covered = torch.maximum(
                self._occluders(work.crops, work.landmarks, mask, work.track_ids),
                self._glasses(work.crops, work.landmarks, mask, work.track_ids),
            )
            if work.hands is not None:
                covered = torch.maximum(covered, blur(dilate(work.hands, 2), 2))
            mask = mask * (1 - covered)
        work.changes = composite(work.crops, work.swapped, mask, blend_levels_fewer)
        if covered is not None:  # on top: the blend's feather and low bands do not reach into them
            work.changes = work.changes * (1 - covered)
        if work.moved is not None:  # (what covers the face moves with it)
            work.changes = work.changes + work.moved


def _rims_widened(crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Glasses' rims in the target crops, widened by a pixel per 128 of the crop: between looks, a
    talking mouth moves the alignment a little."""
    return rim_maps(crops, landmarks, widen=max(1, crops.shape[-1] // 128))
