"""What of a target face is swapped (``--mask``): the kinds asked for, and the mask models that
run (:mod:`rtswap.plugins.masks` opens them from the user's files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import torch


class MaskMap(Protocol):
    name: str

    def __call__(self, crops: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) in [0, 1] for (B, 3, S, S) RGB crops in [0, 1] and their (B, 478, 2)
        landmarks in crop pixels: where the face is swapped."""
        ...


@dataclass
class Masks:
    box: bool = False
    """The aligned crop, feathered, instead of the face mesh's outline."""
    skin: bool = True
    """The skin model's occluders stay on top."""
    models: list[MaskMap] = field(default_factory=list)
    """Occluder models and face parsers; each face's mask is where all of them allow."""
