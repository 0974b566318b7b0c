"""Which of several sources each face gets (``--source a.jpg --source b.jpg``)."""

from __future__ import annotations

from rtswap.frame import Face


class SourceAssignment:
    """Faces get sources left to right as their tracks first appear, and keep them for as long
    as the track lasts. A track that ends frees its source; a new track takes the next free one
    (round robin, so a face that leaves and comes back gets the next source in line unless it
    is the only one free). Faces of stills (no track) are assigned left to right each time."""

    def __init__(self, count: int) -> None:
        self.count = count
        self._by_track: dict[int, int] = {}
        self._next = 0

    def assign(self, faces: list[Face]) -> list[int]:
        """The source index of each face, in the order given."""
        if self.count == 1:
            return [0] * len(faces)
        tracked = {f.track_id for f in faces if f.track_id >= 0}
        self._by_track = {t: i for t, i in self._by_track.items() if t in tracked}
        by_position = sorted(range(len(faces)), key=lambda k: float(faces[k].box[0]))  # left to right
        sources = [0] * len(faces)
        for rank, k in enumerate(by_position):
            face = faces[k]
            if face.track_id < 0:
                sources[k] = rank % self.count
            else:
                if face.track_id not in self._by_track:
                    self._by_track[face.track_id] = self._take(set(self._by_track.values()))
                sources[k] = self._by_track[face.track_id]
        return sources

    def _take(self, used: set[int]) -> int:
        """The next source in line that no visible face holds (or simply the next, when every
        source is held: more faces than sources share them)."""
        order = [(self._next + k) % self.count for k in range(self.count)]
        index = next((i for i in order if i not in used), order[0])
        self._next = (index + 1) % self.count
        return index
