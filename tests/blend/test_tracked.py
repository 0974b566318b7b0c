import torch

from rtswap.blend.occluders.skin import occluders
from rtswap.blend.tracked import TrackedLooks, rows


def test_looks_are_reused_within_a_track_and_made_again_only_for_the_faces_due() -> None:
    calls: list[int] = []

    def counted(crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        calls.append(len(crops))
        return occluders(crops, landmarks, face)

    def looking(maps: TrackedLooks[torch.Tensor], ids: list[int], *batch: torch.Tensor) -> list[torch.Tensor]:
        return maps(ids, batch[0].shape[-1], lambda due: counted(*rows(due, *batch)))

    crop = torch.rand(1, 3, 64, 64)
    points = torch.rand(1, 478, 2) * 64
    face = torch.ones(1, 1, 64, 64)
    maps: TrackedLooks[torch.Tensor] = TrackedLooks(every=3)
    first = looking(maps, [7], crop, points, face)
    assert torch.equal(
        looking(maps, [7], crop * 0, points, face)[0], first[0]
    )  # reused: the crop is not looked at
    looking(maps, [7], crop, points, face)
    assert len(calls) == 1
    looking(maps, [7], crop, points, face)  # the third frame since: looked for again
    looking(maps, [8], crop, points, face)  # a new track
    looking(maps, [-1], crop, points, face)  # a still
    looking(maps, [-1], crop, points, face)
    assert len(calls) == 5
    looking(maps, [8], torch.rand(1, 3, 128, 128), points, torch.ones(1, 1, 128, 128))  # its crop grew
    assert len(calls) == 6
    calls.clear()
    staggered: TrackedLooks[torch.Tensor] = TrackedLooks(every=3)
    looking(staggered, [1], crop, points, face)  # track 1 begins
    pair = (crop.repeat(2, 1, 1, 1), points.repeat(2, 1, 1), face.repeat(2, 1, 1, 1))
    for _ in range(4):  # track 2 begins a frame later; each is looked at on its own frames
        assert [m.shape for m in looking(staggered, [1, 2], *pair)] == [(1, 64, 64)] * 2
    assert calls == [1, 1, 1, 1]  # frames 0 (track 1), 1 (track 2), 3 (track 1), 4 (track 2)
