from pathlib import Path

import av
import numpy as np
import pytest

from rtswap.errors import MediaError
from rtswap.media.video import VideoReader, VideoWriter
from tests.conftest import write_video


def _audio_bytes(path: Path) -> bytes:
    with av.open(str(path)) as c:
        return b"".join(bytes(p) for p in c.demux(c.streams.audio[0]) if p.size)


def test_round_trip_keeps_frames_rate_duration_and_audio(face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "copy.mp4"
    with VideoReader(face_video) as reader:
        writer = VideoWriter(out, reader.info, audio_from=face_video)
        for frame in reader:
            assert isinstance(frame.image, np.ndarray)
            writer.write(255 - frame.image, frame.pts)
        writer.close()
    with av.open(str(face_video)) as a, av.open(str(out)) as b:
        va, vb = a.streams.video[0], b.streams.video[0]
        assert vb.frames == va.frames == 12
        assert vb.average_rate == va.average_rate == 24
        assert vb.duration is not None and vb.time_base is not None
        assert va.duration is not None and va.time_base is not None
        assert vb.duration * vb.time_base == va.duration * va.time_base
        assert b.metadata["comment"].startswith("Synthetic")
    assert _audio_bytes(out) == _audio_bytes(face_video)


def test_a_phone_clip_stored_sideways_is_read_and_written_upright(astro: np.ndarray, tmp_path: Path) -> None:
    upright = [np.ascontiguousarray(astro[:384, : 512 - 8 * k]) for k in range(3)]  # landscape, moving
    upright = [np.pad(f, ((0, 0), (0, 512 - f.shape[1]), (0, 0))) for f in upright]
    sideways, out = tmp_path / "phone.mp4", tmp_path / "out.mp4"
    write_video(sideways, [np.ascontiguousarray(np.rot90(f)) for f in upright], rotation=-90)
    with VideoReader(sideways) as reader:
        assert (reader.info.width, reader.info.height) == (512, 384)
        writer = VideoWriter(out, reader.info)
        for frame, expected in zip(reader, upright, strict=True):
            assert isinstance(frame.image, np.ndarray) and frame.image.shape == expected.shape
            assert np.abs(frame.image.astype(int) - expected).mean() < 4  # the codec's loss only
            writer.write(frame.image, frame.pts)
        writer.close()
    with av.open(str(out)) as written:
        first = next(written.decode(video=0))
        assert (first.width, first.height, first.rotation) == (512, 384, 0)  # upright, no turn left to do


def test_truncated_video_without_index_is_refused(face_video: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.mp4"
    data = face_video.read_bytes()
    cut.write_bytes(data[: len(data) * 2 // 3])  # the index (moov) is at the end and is lost
    with pytest.raises(MediaError, match="cut.mp4"):
        with VideoReader(cut) as reader:
            list(reader)


def test_truncated_video_with_index_reports_missing_frames(tmp_path: Path) -> None:
    frames = [np.full((64, 64, 3), i * 8, np.uint8) for i in range(30)]
    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    write_video(full, frames, faststart=True)
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # index intact at the front, half the frames gone
    with pytest.raises(MediaError, match=r"truncated, decoded \d+ of 30 frames"):
        with VideoReader(cut) as reader:
            list(reader)


def test_aborted_writer_leaves_nothing(tmp_path: Path, face_video: Path) -> None:
    with VideoReader(face_video) as reader:
        writer = VideoWriter(tmp_path / "out.mp4", reader.info)
        image = next(iter(reader)).image
        assert isinstance(image, np.ndarray)
        writer.write(image)
        writer.abort()
    assert list(tmp_path.iterdir()) == []
