import time
from pathlib import Path

import pytest

from rtswap.capture.file import VideoFileSource
from rtswap.capture.open import open_source
from rtswap.errors import InputError, MediaError


def _read_all(source: VideoFileSource, limit: int) -> list[tuple[float, int]]:
    """(wall time, pts) of up to ``limit`` frames."""
    out: list[tuple[float, int]] = []
    while len(out) < limit and (frame := source.read()) is not None:
        out.append((time.monotonic(), frame.pts or 0))
    return out


def test_live_file_plays_at_its_own_frame_rate(face_video: Path) -> None:
    reads = _read_all(VideoFileSource(face_video, paced=True), 100)  # 12 frames at 24 fps
    assert len(reads) == 12
    elapsed = reads[-1][0] - reads[0][0]
    assert elapsed == pytest.approx(11 / 24, abs=0.04)
    gaps = [b[0] - a[0] for a, b in zip(reads, reads[1:], strict=False)]
    assert min(gaps) > 0.5 / 24  # no bursts


def test_a_paced_source_read_late_goes_on_from_then_without_a_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that comes back late (a live pipeline priming its first frame) gets the next frames
    a frame interval apart from then, not the missed ones at once; a little lateness is caught up."""
    from rtswap.capture import base

    class Clock:
        now = 100.0

        def monotonic(self) -> float:
            return self.now

        def sleep(self, seconds: float) -> None:
            self.now += seconds

    clock = Clock()
    monkeypatch.setattr(base, "time", clock)
    pacer, delivered = base.Pacer(), []
    for i in range(8):
        pacer.wait(i / 30)
        delivered.append(clock.now)
        clock.now += 0.3 if i == 0 else 0.01  # the first frame held the reader for 9 intervals
    gaps = [round(b - a, 3) for a, b in zip(delivered, delivered[1:], strict=False)]
    assert gaps[0] == 0.3 and gaps[1:] == [round(1 / 30, 3)] * 6
    clock.now += 0.02  # late by less than an interval: the schedule holds
    pacer.wait(8 / 30)
    pacer.wait(9 / 30)
    assert clock.now == pytest.approx(delivered[1] + 8 / 30)


def test_offline_file_is_read_as_fast_as_taken(face_video: Path) -> None:
    reads = _read_all(VideoFileSource(face_video, paced=False), 100)
    assert len(reads) == 12 and reads[-1][0] - reads[0][0] < 11 / 24 / 2


def test_looped_file_keeps_its_pts_rising(face_video: Path) -> None:
    source = VideoFileSource(face_video, paced=False, loop=True)
    pts = [p for _, p in _read_all(source, 30)]
    assert len(pts) == 30  # more than the file's 12 frames
    steps = {b - a for a, b in zip(pts, pts[1:], strict=False)}
    assert len(steps) == 1 and steps.pop() > 0  # one frame's duration throughout, across the seams


def test_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(MediaError, match="no camera found at /dev/video99 .*--input synthetic"):
        open_source("/dev/video99", live=True)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "nope.mp4"), live=True)
