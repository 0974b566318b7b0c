"""The governor: steps down when the budget or the frame rate is missed, back up when there is
room, never faster than its hold time; and the pipeline really does less at a lower level."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rtswap.capture.synthetic import SyntheticSource
from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Frame
from rtswap.generate.face_swap import FaceSwap
from rtswap.levels import LEVELS, levels
from rtswap.output.base import Sink
from rtswap.output.stats import PipelineStats
from rtswap.pipeline import Pipeline, PipelineConfig
from rtswap.pipeline.governor import Governor
from rtswap.swapper import Swapper

MS = 1_000_000
FRAME_NS = 33 * MS


def _simulate(
    governor: Governor, stats: PipelineStats, seconds: float, cost_ms: list[float], first: int = 0
) -> int:
    """Frames at 30 fps through a pipeline whose latency at level i is ``cost_ms[i]``; returns the
    next frame index. Time is simulated: the governor sees only the frames' timestamps."""
    frames = int(seconds * 30)
    for i in range(first, first + frames):
        capture = i * FRAME_NS
        output = capture + int(cost_ms[governor.index] * MS)
        stats.record(Frame(i, capture, torch.zeros(1), np.zeros(1)), output)
        governor.observe(stats, output)
    return first + frames


def test_steps_down_under_load_and_back_up_when_it_is_gone() -> None:
    governor, stats = Governor(budget_ms=80.0), PipelineStats()
    loaded = [200.0, 150.0, 95.0, 70.0, 60.0, 50.0]  # a slowed stage: only lower levels fit
    idle = [30.0, 25.0, 20.0, 18.0, 16.0, 15.0]
    next_frame = _simulate(governor, stats, 20, loaded)
    assert governor.index == 3 and [c.level for c in governor.changes] == [lv.name for lv in LEVELS[1:4]]
    _simulate(governor, stats, 20, idle, next_frame)
    assert governor.index == 0  # all the way back
    times = [c.at_ns for c in governor.changes]
    assert np.all(np.diff(times) >= governor.hold_s * 1e9)  # never faster than the hold time
    spent = governor.time_at_levels(0, times[-1])
    assert sum(spent.values()) == pytest.approx(times[-1] / 1e9, abs=0.01) and spent["full"] > 2.0


def test_dropped_frames_step_down_even_within_the_budget() -> None:
    governor, stats = Governor(budget_ms=80.0), PipelineStats()
    for n in range(120):  # every other frame lost on the way, each delivered one quick
        i = 2 * n
        stats.record(Frame(i, i * FRAME_NS, torch.zeros(1), np.zeros(1)), i * FRAME_NS + 20 * MS)
        governor.observe(stats, i * FRAME_NS + 20 * MS)
    assert governor.index >= 1 and "dropped" in governor.changes[0].reason


def test_a_streams_first_frames_alone_do_not_step_down() -> None:
    """A new face's first frames cost the same at every level (found, settled, first looks): the
    spike at the start of a stream is not judged, the same spike later is."""
    governor, stats = Governor(budget_ms=80.0), PipelineStats()
    start = {0: 250.0, 4: 130.0, 5: 110.0, 6: 95.0, 7: 85.0}  # frames 1-3 dropped behind frame 0

    def run(first: int, seconds: float) -> None:
        for i in range(first, first + int(seconds * 30)):
            if 0 < i - first < 4:
                continue
            output = i * FRAME_NS + int(start.get(i - first, 30.0) * MS)
            stats.record(Frame(i, i * FRAME_NS, torch.zeros(1), np.zeros(1)), output)
            governor.observe(stats, output)

    run(0, 10)
    assert governor.changes == []
    run(300, 3)
    assert [c.level for c in governor.changes] == [LEVELS[1].name]


def test_with_a_restorer_the_governor_sheds_it_first() -> None:
    """A face restorer costs more than all else a frame does: under load it goes to every other
    frame, then off, before the swap itself loses quality; it comes back first when there is room."""
    governor, stats = Governor(budget_ms=80.0, levels=levels(restorer=True)), PipelineStats()
    loaded = [200.0, 120.0, 70.0] + [60.0] * (len(governor.levels) - 3)  # fits once the restorer is off
    next_frame = _simulate(governor, stats, 12, loaded)
    assert [c.level for c in governor.changes] == ["restorer every 2nd frame", "restorer off"]
    assert [level.restore_every for level in governor.levels[:3]] == [1, 2, 0]
    assert all(level.restore_every == 0 for level in governor.levels[3:])
    _simulate(governor, stats, 40, [30.0] * len(governor.levels), next_frame)
    assert governor.index == 0 and governor.level.restore_every == 1


def test_no_change_inside_the_dead_band() -> None:
    governor, stats = Governor(budget_ms=80.0), PipelineStats()
    _simulate(governor, stats, 20, [60.0] * len(LEVELS))  # between 0.6 x budget and the budget
    assert governor.changes == []


class CostlyAtLargeCrops(Sink):
    """A sink whose work grows with the swap's crop: slow at full quality, quick from 128 px."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []

    def write(self, image: np.ndarray, frame: Frame) -> None:
        import time

        large = frame.work is not None and frame.work.crops.shape[-1] > 128
        time.sleep(0.08 if large else 0.005)
        self.frames.append(frame)

    def close(self) -> None: ...

    def abort(self) -> None: ...


def test_the_pipeline_lowers_its_work_until_it_keeps_up(grace_swapper: Swapper, head: SyntheticHead) -> None:
    clip = SyntheticClip(width=1280, height=720, fps=30, seconds=1.0, head=head)  # a 256 px crop at full
    sink = CostlyAtLargeCrops()
    source = SyntheticSource(clip, paced=True, loop=True)
    pipeline = Pipeline(
        grace_swapper.face_swap, source, [sink], PipelineConfig(live=True, latency_budget_ms=150)
    )
    pipeline.run(seconds=9.0)
    assert pipeline.governor is not None and pipeline.governor.level.max_crop == 128
    crops = [f.work.crops.shape[-1] for f in sink.frames if f.work is not None]
    assert crops[0] > 128 and crops[-1] == 128  # the swap really runs in smaller crops now
    late = [f.index for f in sink.frames[-20:]]
    assert (late[-1] - late[0] + 1) / len(late) < 1.2  # and nearly every frame gets through


def test_swapping_every_other_frame_reuses_the_last_swap_on_the_new_position(
    grace_swapper: Swapper, head: SyntheticHead, analyzer: FaceAnalyzer
) -> None:
    from rtswap.capture.synthetic_heads import Motion

    face_swap: FaceSwap = grace_swapper.face_swap
    first, second = (head.render(Motion(yaw=y)) for y in (0.0, 4.0))
    faces = [analyzer.analyze(image)[0] for image in (first, second)]
    for face in faces:
        face.track_id = 7
    work = face_swap.swap(torch.from_numpy(first), [faces[0]])
    reused = face_swap.swap(torch.from_numpy(second), [faces[1]], reuse=work)
    assert work is not None and reused is not None
    assert reused.swapped is work.swapped  # no engine call
    assert not torch.equal(reused.crops, work.crops)  # but aligned to where the face is now
    faces[1].track_id = 8  # another face: the engine runs
    other = face_swap.swap(torch.from_numpy(second), [faces[1]], reuse=work)
    assert other is not None and other.swapped is not work.swapped


def test_a_level_that_missed_is_not_probed_again_at_once() -> None:
    governor, stats = Governor(budget_ms=80.0), PipelineStats()
    flapping = [120.0, 30.0] + [20.0] * (len(LEVELS) - 2)  # full misses, the next has lots of room
    _simulate(governor, stats, 30, flapping)
    ups = [c for c in governor.changes if c.level == "full"]
    times = [c.at_ns / 1e9 for c in governor.changes]
    assert len(ups) >= 1  # it does come back to try...
    waits = [up - down for down, up in zip(times[0::2], times[1::2], strict=False)]
    assert waits[0] >= 8.0 and all(b >= 2 * a - 0.1 for a, b in zip(waits, waits[1:], strict=False))
