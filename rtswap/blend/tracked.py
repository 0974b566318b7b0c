"""What was found on each tracked face, kept between looks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

import torch

from rtswap.device import upload

Found = TypeVar("Found")


class TrackedLooks(Generic[Found]):
    """What is found on each of the tracked faces of one stream (what covers it: occluders,
    glasses' rims; its camera's blur and grain), found on every ``every``-th frame of each track
    and reused in between: in the aligned crop, hair and glasses keep their place as the head
    moves, a hand two frames late is hardly seen at 30 fps, and a camera's focus and noise change
    slowly. Only the faces due are looked at (tracks that began on different frames are due on
    different frames); faces without a track (stills) always are, and so are faces whose crop size
    changed. Used by one thread (the pipeline's composite stage)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._kept: dict[int, tuple[int, int, Found]] = {}
        """track id -> (frames since found, the crop size it was found at, what was found)."""

    def __call__(
        self, track_ids: list[int], size: int, find: Callable[[list[int]], Iterable[Found]]
    ) -> list[Found]:
        """One found thing per face, in batch order: kept, or for the faces due (their positions
        in the batch), what ``find`` finds. ``size``: the crop size of this frame's faces."""
        due = [k for k, t in enumerate(track_ids) if not self._reusable(t, size)]
        fresh = dict(zip(due, find(due), strict=True)) if due else {}
        entries = [
            (0, size, fresh[k]) if k in fresh else (self._kept[t][0] + 1, size, self._kept[t][2])
            for k, t in enumerate(track_ids)
        ]
        self._kept = {t: entry for t, entry in zip(track_ids, entries, strict=True) if t >= 0}
        return [found for _, _, found in entries]

    def _reusable(self, track_id: int, size: int) -> bool:
        kept = self._kept.get(track_id)
        return kept is not None and kept[0] < self.every - 1 and kept[1] == size


def rows(positions: list[int], *tensors: torch.Tensor) -> list[torch.Tensor]:
    """The batch rows at ``positions`` of each of ``tensors`` (the index uploaded without waiting:
    a list index would be copied to the device blocking)."""
    index = upload(positions, tensors[0].device, torch.int64)
    return [t.index_select(0, index) for t in tensors]
