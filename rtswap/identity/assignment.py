"""Which source each face gets (``--source a.jpg --source b.jpg``, ``--map REF=SRC``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from rtswap.frame import Face

if TYPE_CHECKING:
    from rtswap.identity.matcher import FaceMatcher


class SourceAssignment:
    """Faces get the ``count`` plain sources left to right as their tracks first appear, and keep
    them for as long as the track lasts. A track that ends frees its source; a new track takes the
    next free one (round robin, so a face that leaves and comes back gets the next source in line
    unless it is the only one free). Faces of stills (no track) are assigned left to right each
    time. With a ``matcher``, a new face that is one of its reference people gets that person's
    source instead (index ``count + reference``); with no plain source, other faces get None
    (left as they are)."""

    def __init__(self, count: int, matcher: FaceMatcher | None = None) -> None:
        self.count, self.matcher = count, matcher
        self._by_track: dict[int, int | None] = {}
        self._next = 0

    def assign(self, faces: list[Face], frame: torch.Tensor | None = None) -> list[int | None]:
        """The source index of each face in ``frame``, in the order given."""
        if self.count == 1 and self.matcher is None:
            return [0] * len(faces)
        tracked = {f.track_id for f in faces if f.track_id >= 0}
        self._by_track = {t: i for t, i in self._by_track.items() if t in tracked}
        by_position = sorted(range(len(faces)), key=lambda k: float(faces[k].box[0]))  # left to right
        sources: list[int | None] = [None] * len(faces)
        rank = 0
        for k in by_position:
            face = faces[k]
            if face.track_id >= 0 and face.track_id in self._by_track:
                sources[k] = self._by_track[face.track_id]
                continue
            person = None if self.matcher is None or frame is None else self.matcher.match(frame, face)
            if person is not None:
                sources[k] = self.count + person
            elif self.count and face.track_id < 0:
                sources[k], rank = rank % self.count, rank + 1
            elif self.count:
                sources[k] = self._take({i for i in self._by_track.values() if i is not None})
            if face.track_id >= 0:
                self._by_track[face.track_id] = sources[k]
        return sources

    def _take(self, used: set[int]) -> int:
        """The next source in line that no visible face holds (or simply the next, when every
        source is held: more faces than sources share them)."""
        order = [(self._next + k) % self.count for k in range(self.count)]
        index = next((i for i in order if i not in used), order[0])
        self._next = (index + 1) % self.count
        return index
