"""Occluder maps kept per tracked face between looks."""

from __future__ import annotations

from collections.abc import Callable

import torch

from rtswap.device import upload


class TrackedMaps:
    """Maps of what covers the tracked faces of one stream (``find(crops, landmarks, face)``:
    :func:`occluders`, or glasses' rims), found on every ``every``-th frame of each track and
    reused in between: in the aligned crop, hair and glasses keep their place as the head moves,
    and a hand two frames late is hardly seen at 30 fps. Only the faces due are looked at (tracks
    that began on different frames are due on different frames); faces without a track (stills)
    always are. Used by one thread (the pipeline's composite stage)."""

    def __init__(
        self, find: Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor], every: int
    ) -> None:
        self.find = find
        self.every = every
        self._maps: dict[int, tuple[int, torch.Tensor]] = {}
        """track id -> (frames since found, the map (1, S, S))."""

    def __call__(
        self, crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor, track_ids: list[int]
    ) -> torch.Tensor:
        size = crops.shape[-1]
        due = [k for k, t in enumerate(track_ids) if not self._reusable(t, size)]
        fresh = {}
        if due:
            rows = upload(due, crops.device, torch.int64)  # (a list index would be copied blocking)
            found = self.find(
                crops.index_select(0, rows), landmarks.index_select(0, rows), face.index_select(0, rows)
            )
            fresh = dict(zip(due, found, strict=True))
        entries = [
            (0, fresh[k]) if k in fresh else (self._maps[t][0] + 1, self._maps[t][1])
            for k, t in enumerate(track_ids)
        ]
        self._maps = {t: entry for t, entry in zip(track_ids, entries, strict=True) if t >= 0}
        return torch.stack([found for _, found in entries])

    def _reusable(self, track_id: int, size: int) -> bool:
        kept = self._maps.get(track_id)
        return kept is not None and kept[0] < self.every - 1 and kept[1].shape[-1] == size
