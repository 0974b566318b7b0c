"""What was found on each tracked face, kept between looks."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

import torch

from rtswap.background import Background
from rtswap.device import upload

Found = TypeVar("Found")
State = tuple[float, ...]
"""What a face's look depends on, in numbers: its head's yaw and pitch in degrees, say."""


class TrackedLooks(Generic[Found]):
    """What is found on each of the tracked faces of one stream (what covers it: occluders,
    glasses' rims; its camera's blur and grain), found on every ``every``-th frame of each track
    and reused in between: in the aligned crop, hair and glasses keep their place as the head
    moves, a hand two frames late is hardly seen at 30 fps, and a camera's focus and noise change
    slowly. Tracks that began on different frames are due on different frames. A face is looked
    at at once when it has no look yet: a new track, a still (no track), a crop size that changed.

    ``again_after``: a new track's second look comes this many frames after its first (a look that
    checks the first early), then every ``every``. ``merge(kept, new)``: what a refresh keeps
    (default: the new look; a look switched at once shows as a jump on a still face).

    ``still``: (tolerances, frames): a face whose state (``states`` in :meth:`__call__`: its head's
    yaw and pitch, its mouth's opening) has moved less than these, each number by its own, since
    its last look keeps that look for up to this many frames, not ``every``: what a face parser or
    an occluder model sees stays put in the aligned crop while the face does.

    With a ``background``, a due refresh runs there instead (its result is used from the frame it
    is ready on; the previous one until then), so that no frame waits for it. Used by one stream's
    thread (the pipeline's composite stage) and its background."""

    def __init__(
        self,
        every: int,
        background: Background | None = None,
        again_after: int | None = None,
        merge: Callable[[Found, Found], Found] | None = None,
        still: tuple[State, int] | None = None,
    ) -> None:
        self.every, self.background, self.still = every, background, still
        self.merge: Callable[[Found, Found], Found] = merge or (lambda _, new: new)
        self.again_after = every if again_after is None else again_after
        self._kept: dict[int, tuple[int, int, Found]] = {}
        """track id -> (frames since found, the crop size it was found at, what was found)."""
        self._looked: dict[int, int] = {}
        """track id -> how many looks it has had."""
        self._looked_from: dict[int, State] = {}
        """track id -> its state at its last look (with ``still``)."""
        self._pending: set[int] = set()
        """Tracks whose refresh is running in the background."""
        self._lock = threading.Lock()

    def __call__(
        self,
        track_ids: list[int],
        size: int,
        find: Callable[[list[int]], Iterable[Found]],
        states: Sequence[State] | None = None,
    ) -> list[Found]:
        """One found thing per face, in batch order: kept, or for the faces due (their positions
        in the batch), what ``find`` finds. ``size``: the crop size of this frame's faces;
        ``states``: theirs, needed with ``still``."""
        assert self.still is None or states is not None
        with self._lock:
            now = [k for k, t in enumerate(track_ids) if not self._usable(t, size)]
            due = [
                k
                for k, t in enumerate(track_ids)
                if k not in now and self._due(t, None if states is None else states[k])
            ]
            if states is not None:
                self._looked_from.update((track_ids[k], states[k]) for k in (*now, *due) if track_ids[k] >= 0)
        found = dict(zip(now, find(now), strict=True)) if now else {}
        if due and self.background is None:
            with self._lock:
                before = [self._kept[track_ids[k]][2] for k in due]
            found.update(
                (k, self.merge(old, new)) for k, old, new in zip(due, before, find(due), strict=True)
            )
        elif due:
            self._refresh_later([track_ids[k] for k in due], size, lambda: find(due))
        with self._lock:
            entries = [
                (0, size, found[k]) if k in found else (self._kept[t][0] + 1, size, self._kept[t][2])
                for k, t in enumerate(track_ids)
            ]
            self._kept = {t: entry for t, entry in zip(track_ids, entries, strict=True) if t >= 0}
            self._looked = {
                t: self._looked.get(t, 0) + (k in found) for k, t in enumerate(track_ids) if t >= 0
            }
            self._looked_from = {t: self._looked_from[t] for t in self._looked if t in self._looked_from}
        return [look for _, _, look in entries]

    def _usable(self, track_id: int, size: int) -> bool:
        kept = self._kept.get(track_id)
        return kept is not None and kept[1] == size

    def _due(self, track_id: int, state: State | None) -> bool:
        every = self.again_after if self._looked.get(track_id, 0) == 1 else self.every
        age = self._kept[track_id][0]
        if age < every - 1 or track_id in self._pending:
            return False
        if self.still is None or state is None or track_id not in self._looked_from:
            return True
        tolerances, frames = self.still
        then = self._looked_from[track_id]
        moved = any(abs(a - b) >= limit for a, b, limit in zip(state, then, tolerances, strict=True))
        return moved or age >= frames - 1

    def _refresh_later(self, tracks: list[int], size: int, find: Callable[[], Iterable[Found]]) -> None:
        assert self.background is not None

        def refresh() -> None:
            try:
                found = list(find())
            finally:
                with self._lock:
                    self._pending.difference_update(tracks)
            with self._lock:
                for track, look in zip(tracks, found, strict=True):
                    kept = self._kept.get(track)
                    if kept is not None and kept[1] == size:  # the track goes on at this size
                        self._kept[track] = (0, size, self.merge(kept[2], look))
                        self._looked[track] += 1

        with self._lock:
            self._pending.update(tracks)
        if not self.background.submit(refresh):
            with self._lock:
                self._pending.difference_update(tracks)


class Eased:
    """Per tracked face, a map shown a ``share`` of the way from the one shown on its frame before
    to the one given for this frame: a look that refreshes the map eases in over frames instead
    of switching at once (a switched map of glasses' rims showed as a jump around the eyes at
    every look). A face with nothing shown before (a new track, a still) shows what is given."""

    def __init__(self, share: float) -> None:
        self.share = share
        self._shown: dict[int, torch.Tensor] = {}

    def __call__(self, track_ids: list[int], maps: list[torch.Tensor]) -> list[torch.Tensor]:
        shown = []
        for track, given in zip(track_ids, maps, strict=True):
            before = self._shown.get(track)
            if before is None or before.shape != given.shape:
                shown.append(given)
            else:
                shown.append(before + (given - before) * self.share)
        self._shown = {t: m for t, m in zip(track_ids, shown, strict=True) if t >= 0}
        return shown


def rows(positions: list[int], *tensors: torch.Tensor) -> list[torch.Tensor]:
    """The batch rows at ``positions`` of each of ``tensors`` (the index uploaded without waiting:
    a list index would be copied to the device blocking)."""
    index = upload(positions, tensors[0].device, torch.int64)
    return [t.index_select(0, index) for t in tensors]
