import threading
import time

import cv2
import numpy as np
import pytest
import torch

from rtswap.blend.compositor import Compositor
from rtswap.capture.synthetic import SyntheticSource
from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.errors import MediaError
from rtswap.frame import Frame, SwapWork
from rtswap.pipeline import Pipeline, PipelineConfig, StageError
from rtswap.pipeline.pipeline import STAGES
from rtswap.swapper import Swapper
from rtswap.testing.doubles import CollectSink, ListSource
from rtswap.testing.occluders import with_hand
from tests.conftest import face_hull


@pytest.fixture(scope="module")
def clip(head: SyntheticHead) -> SyntheticClip:
    return SyntheticClip(width=480, height=360, fps=30, seconds=0.3, head=head)


def _stage_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("rtswap-")]


def test_offline_run_keeps_every_frame_in_order_with_stamps(
    grace_swapper: Swapper, clip: SyntheticClip
) -> None:
    frames = list(clip)
    sink = CollectSink()
    report = Pipeline(grace_swapper.face_swap, ListSource(frames), [sink], PipelineConfig(live=False)).run()
    assert [f.index for f in sink.frames] == list(range(len(frames))) and report.dropped == 0
    assert all(len(f.faces) == 1 for f in sink.frames)
    assert all(not np.array_equal(out, src) for out, src in zip(sink.images, frames, strict=True))
    for frame in sink.frames:
        times = [t for name in STAGES for t in frame.stamps[name]]
        assert times == sorted(times) and times[0] == frame.capture_ns  # each stage after the last
    assert sink.closed and not sink.aborted
    assert not _stage_threads()


def test_threads_change_nothing_in_the_result(grace_swapper: Swapper, clip: SyntheticClip) -> None:
    frames = list(clip)
    threaded, sequential = CollectSink(), CollectSink()
    config = PipelineConfig(live=False)
    Pipeline(grace_swapper.face_swap, ListSource(frames), [threaded], config).run()
    Pipeline(grace_swapper.face_swap, ListSource(frames), [sequential], config).run_sequential()
    assert len(threaded.images) == len(sequential.images) == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(threaded.images, sequential.images, strict=True))


def test_the_stages_run_without_pools_of_their_own(grace_swapper: Swapper, clip: SyntheticClip) -> None:
    """The stage threads are the parallelism: PyTorch's and OpenCV's pools are one thread each."""
    torch.set_num_threads(2)
    cv2.setNumThreads(2)
    seen: list[tuple[int, int]] = []
    pipeline = Pipeline(
        grace_swapper.face_swap,
        ListSource(list(clip)),
        [CollectSink()],
        PipelineConfig(live=False),
        on_output=lambda frame, image: seen.append((torch.get_num_threads(), cv2.getNumThreads())),
    )
    pipeline.run()
    assert seen and set(seen) == {(1, 1)}


def test_stage_error_stops_everything_and_names_the_stage(
    grace_swapper: Swapper, clip: SyntheticClip
) -> None:
    source, sink = ListSource(list(clip), fail_at=3), CollectSink()
    with pytest.raises(StageError, match="^capture: camera /dev/video0 stopped") as caught:
        Pipeline(grace_swapper.face_swap, source, [sink], PipelineConfig(live=False)).run()
    assert caught.value.stage == "capture" and isinstance(caught.value.error, MediaError)
    assert len(sink.images) <= 3  # frames in flight when it failed are dropped
    assert sink.aborted and not sink.closed and source.closed
    assert not _stage_threads()


def test_sink_error_is_reported_by_the_output_stage(grace_swapper: Swapper, clip: SyntheticClip) -> None:
    with pytest.raises(StageError, match="^output: disk full"):
        Pipeline(
            grace_swapper.face_swap,
            ListSource(list(clip)),
            [CollectSink(fail=True)],
            PipelineConfig(live=False),
        ).run()
    assert not _stage_threads()


def test_live_input_drops_stale_frames_instead_of_queueing(
    grace_swapper: Swapper, clip: SyntheticClip
) -> None:
    slow = CollectSink(delay_s=0.1)  # a sink that manages 10 fps, fed at 30 fps
    source = SyntheticSource(clip, paced=True, loop=True)
    report = Pipeline(grace_swapper.face_swap, source, [slow], PipelineConfig(live=True)).run(seconds=2.5)
    assert report.dropped > 0 and len(slow.frames) < report.captured
    # each frame reaching the sink is newer than the last (no queue replays old frames), and the
    # frames it skips do not pile up: the last frames are no further behind than the first
    indices = [f.index for f in slow.frames]
    assert indices == sorted(set(indices))
    behind = [f.stamps["output"][0] - f.capture_ns for f in slow.frames]
    third = len(behind) // 3
    assert np.median(behind[-third:]) < 2 * np.median(behind[:third])
    assert slow.closed and not _stage_threads()


def test_a_live_runs_first_frame_holds_up_no_frame_behind_it(
    grace_swapper: Swapper, head: SyntheticHead, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new face's first frame costs several frames' work (found, settled, its first looks; here
    its composite slowed further): the next frame is captured once it is composited, and the
    paced clip goes on from then, so no frame behind it is dropped."""
    calls: list[int] = []

    def slow_first(self: Compositor, work: SwapWork, blend_levels_fewer: int = 0) -> None:
        if not calls:
            time.sleep(0.3)  # 4.5 frame intervals at 15 fps
        calls.append(len(calls))
        composite(self, work, blend_levels_fewer)

    composite = Compositor.__call__
    monkeypatch.setattr(Compositor, "__call__", slow_first)
    clip = SyntheticClip(width=480, height=360, fps=15, seconds=1.0, head=head)
    sink = CollectSink()
    source = SyntheticSource(clip, paced=True, loop=False)
    Pipeline(grace_swapper.face_swap, source, [sink], PipelineConfig(live=True)).run()
    assert [f.index for f in sink.frames][:8] == list(range(8))
    assert all(len(f.faces) == 1 for f in sink.frames)


def test_stop_from_another_thread_ends_a_live_run(grace_swapper: Swapper, clip: SyntheticClip) -> None:
    sink = CollectSink()
    pipeline = Pipeline(
        grace_swapper.face_swap,
        SyntheticSource(clip, paced=True, loop=True),
        [sink],
        PipelineConfig(live=True),
    )
    threading.Timer(0.8, pipeline.stop).start()
    start = time.monotonic()
    pipeline.run()
    assert time.monotonic() - start < 3.0
    assert sink.frames and sink.closed and not sink.aborted
    assert not _stage_threads()


def test_live_input_refreshes_the_looks_in_the_background_and_ends_it(
    astro_swapper: Swapper, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """Live, the occluder and camera looks are refreshed off the frame path: a hand over the mouth
    stays on top on every frame all the same, and the background thread ends with the run."""
    face = analyzer.analyze(grace)[0]
    target, drawn = with_hand(grace, face.landmarks)
    hand = cv2.erode(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    hand &= face_hull(face, grace.shape)
    seen: list[bool] = []

    class Watching(CollectSink):
        def write(self, image: np.ndarray, frame: Frame) -> None:
            seen.append(any(t.name == "rtswap-looks" for t in threading.enumerate()))
            super().write(image, frame)

    sink = Watching()
    Pipeline(astro_swapper.face_swap, ListSource([target] * 20), [sink], PipelineConfig(live=True)).run()
    assert sink.images and all(seen)
    for image in sink.images:
        assert np.abs(image[hand].astype(int) - target[hand]).mean() < 5  # the hand, on top
        assert np.abs(image.astype(int) - target).max() > 30  # the face, swapped
    assert "rtswap-looks" not in _stage_threads()


def test_a_hand_that_comes_over_the_face_is_on_top_within_three_frames(
    astro_swapper: Swapper, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """The looks' cadence: a hand raised over the mouth of a tracked face at frame 10 is kept on
    top from frame 12 on (and painted over for at most the two frames before it)."""
    face = analyzer.analyze(grace)[0]
    target, drawn = with_hand(grace, face.landmarks)
    hand = cv2.erode(drawn.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    hand &= face_hull(face, grace.shape)
    frames = [grace] * 10 + [target] * 10
    sink = CollectSink()
    Pipeline(astro_swapper.face_swap, ListSource(frames), [sink], PipelineConfig(live=False)).run()
    kept = [np.abs(image[hand].astype(int) - target[hand]).mean() < 5 for image in sink.images[10:]]
    assert all(kept[2:]), kept
