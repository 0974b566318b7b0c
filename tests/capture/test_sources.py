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
