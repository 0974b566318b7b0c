import threading
import time
from collections.abc import Sequence

import torch

from rtswap.background import Background
from rtswap.blend.occluders.skin import occluders
from rtswap.blend.tracked import Eased, TrackedLooks, rows


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


def test_with_still_a_look_is_kept_while_the_head_turns_little() -> None:
    """A still head is looked at again only on every 15th frame; a turning one on every 3rd frame
    on which it has turned 5 degrees or more since its last look; each number of a state counts
    by its own tolerance."""

    def frames_looked(states: Sequence[tuple[float, ...]], tolerances: tuple[float, ...]) -> list[int]:
        looked: list[int] = []
        looks: TrackedLooks[int] = TrackedLooks(every=3, still=(tolerances, 15))
        for frame, state in enumerate(states):

            def find(due: list[int], frame: int = frame) -> list[int]:
                looked.append(frame)
                return [frame for _ in due]

            looks([4], 64, find, [state])
        return looked

    def turning(degrees_per_frame: float, frames: int) -> list[tuple[float, ...]]:
        return [(degrees_per_frame * frame, 0.0) for frame in range(frames)]

    assert frames_looked(turning(0.0, 31), (5.0, 5.0)) == [0, 15, 30]
    assert frames_looked(turning(2.0, 12), (5.0, 5.0)) == [0, 3, 6, 9]  # 6 degrees by each third frame
    assert frames_looked(turning(1.0, 31), (5.0, 5.0)) == [0, 5, 10, 15, 20, 25, 30]  # 5 by each fifth
    mouth_opens = [(0.0, 0.0, 0.0)] * 3 + [(0.0, 0.0, 0.05)] * 3  # by 5% of the face on frame 3
    assert frames_looked(mouth_opens, (5.0, 5.0, 0.03)) == [0, 3]


def test_with_a_background_a_refresh_runs_off_the_frame_path_and_is_used_once_ready() -> None:
    """The first look of a face is made at once; its refreshes run on the background thread
    while the frames go on with the previous look."""
    threads: list[str] = []
    release = threading.Event()

    def find(due: list[int]) -> list[int]:
        threads.append(threading.current_thread().name)
        if len(threads) > 1:
            release.wait(10)  # a slow look
        return [len(threads)] * len(due)

    background = Background(torch.device("cpu"))
    try:
        looks: TrackedLooks[int] = TrackedLooks(every=2, background=background)
        assert looks([5], 64, find) == [1]  # found at once, in this thread
        assert looks([5], 64, find) == [1]  # due: the refresh starts in the background...
        assert looks([5], 64, find) == [1]  # ...and the frames go on without waiting for it
        deadline = time.monotonic() + 10
        while len(threads) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.001)
        assert threads == [threading.current_thread().name, "rtswap-looks"]
        assert looks([5], 64, find) == [1]  # still running
        release.set()
        while looks([5], 64, find) != [2]:  # used from the frame it is ready on
            assert time.monotonic() < deadline
            time.sleep(0.001)
        assert len(threads) == 2  # not asked again while it ran
        assert looks([6], 64, find) == [3]  # a new face: at once
    finally:
        background.close()
    assert not any(t.name == "rtswap-looks" for t in threading.enumerate())


def test_a_refresh_covers_at_once_and_uncovers_over_looks() -> None:
    """What covers a face shows on the frame its look finds it; what it no longer finds fades,
    half at each look, instead of switching off at once (a jump along its edges)."""
    from rtswap.blend.compositor import _covered_at_once_uncovered_slowly

    maps: TrackedLooks[torch.Tensor] = TrackedLooks(every=1, merge=_covered_at_once_uncovered_slowly)
    found = iter([torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), torch.tensor([0.0, 0.0])])
    frames = [maps([5], 2, lambda due: [next(found)])[0].tolist() for _ in range(3)]
    assert frames == [[1.0, 0.0], [0.5, 1.0], [0.25, 0.5]]


def test_a_refreshed_map_eases_in_over_frames() -> None:
    """A map that a look replaces goes a share of the way to the new one on each frame (a switched
    rims map jumped around the eyes); a new face shows its first map at once."""
    eased = Eased(0.5)
    old, new = torch.zeros(2), torch.ones(2)
    shown = [eased([3, -1], [old if frame == 0 else new, new])[0].tolist() for frame in range(3)]
    assert shown == [[0.0, 0.0], [0.5, 0.5], [0.75, 0.75]]
    assert eased([4], [new])[0].tolist() == [1.0, 1.0]
