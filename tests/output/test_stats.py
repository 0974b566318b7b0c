import numpy as np
import pytest
import torch

from rtswap.frame import Frame
from rtswap.output.stats import PipelineStats, percentiles

MS = 1_000_000


def _frame(index: int, capture_ns: int, stamps: dict[str, tuple[int, int]]) -> Frame:
    image = np.zeros((2, 2, 3), np.uint8)
    return Frame(index=index, capture_ns=capture_ns, host=image, image=torch.from_numpy(image), stamps=stamps)


def test_latency_and_stage_times_come_from_the_frames_timestamps() -> None:
    stats = PipelineStats()
    latencies_ms = [20 + (i % 10) for i in range(100)]  # 20..29 ms, ten of each
    for i, latency in enumerate(latencies_ms):
        capture = 1_000 * MS + i * 33 * MS  # a frame every 33 ms
        swap = (capture + 5 * MS, capture + 5 * MS + (i % 4) * MS)  # 0..3 ms in the swap stage
        stats.record(_frame(i, capture, {"swap": swap}), output_ns=capture + latency * MS)
    summary = stats.summary()
    assert summary.frames == 100
    assert summary.latency_ms == percentiles([float(v) for v in latencies_ms])
    assert summary.latency_ms["p50"] == pytest.approx(24.5)
    assert summary.latency_ms["p99"] == pytest.approx(29.0)
    assert summary.stages["swap"]["p95"] == pytest.approx(3.0)
    span_ms = 99 * 33 + latencies_ms[-1] - latencies_ms[0]  # first to last output
    assert summary.fps_out == pytest.approx(99 / span_ms * 1000, abs=0.01)


def test_summary_window_keeps_only_frames_output_in_it() -> None:
    stats = PipelineStats()
    for i in range(10):
        latency = 10 if i < 5 else 50
        stats.record(_frame(i, i * 100 * MS, {}), output_ns=i * 100 * MS + latency * MS)
    late = stats.summary(since_ns=500 * MS)
    assert late.frames == 5 and late.latency_ms["p50"] == 50.0
    assert stats.summary(until_ns=500 * MS).latency_ms["p99"] == 10.0


def test_percentiles_of_nothing_are_nan() -> None:
    assert all(np.isnan(v) for v in percentiles([]).values())


class _FakeEvent:
    """A CUDA timing event's stand-in: ``elapsed_time`` in ms, as the device measured it."""

    def __init__(self, at_ms: float) -> None:
        self.at_ms = at_ms

    def elapsed_time(self, end: "_FakeEvent") -> float:
        return end.at_ms - self.at_ms


def test_a_stage_with_device_events_is_timed_by_them_not_by_the_host() -> None:
    """On CUDA the host stamps time a stage's kernel launches (here 0.2 ms); its events time the
    work itself (here 7.5 ms). Stages without events keep their host times."""
    stats = PipelineStats()
    frame = _frame(0, 0, {"swap": (1 * MS, int(1.2 * MS)), "output": (10 * MS, 12 * MS)})
    frame.device_time["swap"] = (_FakeEvent(3.0), _FakeEvent(10.5))  # type: ignore[assignment]  # CUDA-less
    stats.record(frame, output_ns=12 * MS)
    stages = stats.summary().stages
    assert stages["swap"]["p50"] == pytest.approx(7.5)
    assert stages["output"]["p50"] == pytest.approx(2.0)


def test_a_long_stream_keeps_its_latest_frames_in_bounded_memory() -> None:
    """A session of hours keeps the times of its latest frames only: the summaries cover those,
    and the count is of every frame output."""
    stats = PipelineStats(keep=100)
    for i in range(1000):
        capture = i * 33 * MS
        latency = 20 if i < 900 else 40  # the last hundred frames are slower
        stats.record(_frame(i, capture, {"swap": (capture, capture + MS)}), output_ns=capture + latency * MS)
    summary = stats.summary()
    assert len(stats) == 1000 and 90 <= summary.frames <= 100
    assert summary.latency_ms["p50"] == pytest.approx(40.0)
