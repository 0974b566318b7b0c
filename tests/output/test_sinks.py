import glob
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.errors import OutputError
from rtswap.frame import Face, Frame
from rtswap.media.video import VideoInfo
from rtswap.output import checks, window
from rtswap.output.stats import PipelineStats
from rtswap.output.virtualcam import convert


def _bt601(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    """Limited-range BT.601 Y, Cb, Cr of an 8-bit RGB colour."""
    r, g, b = (c / 255 for c in rgb)
    y = 16 + 65.481 * r + 128.553 * g + 24.966 * b
    return y, 128 - 37.797 * r - 74.203 * g + 112.0 * b, 128 + 112.0 * r - 93.786 * g - 18.214 * b


@pytest.mark.parametrize("rgb", [(255, 0, 0), (0, 255, 0), (0, 0, 255), (128, 128, 128), (30, 200, 90)])
def test_virtual_camera_formats_carry_the_right_colour(rgb: tuple[int, int, int]) -> None:
    h, w = 4, 6
    image = np.empty((h, w, 3), np.uint8)
    image[:] = rgb
    expected = _bt601(rgb)
    i420, nv12 = convert(image, "I420"), convert(image, "NV12")
    yuyv, uyvy = convert(image, "YUYV"), convert(image, "UYVY")
    assert i420.size == nv12.size == w * h * 3 // 2 and yuyv.size == uyvy.size == w * h * 2
    n, q = w * h, w * h // 4  # luma samples; chroma samples per plane at 4:2:0
    layouts = {  # format -> (Y, U, V) samples
        "I420": (i420[:n], i420[n : n + q], i420[n + q :]),
        "NV12": (nv12[:n], nv12[n::2], nv12[n + 1 :: 2]),
        "YUYV": (yuyv[0::2], yuyv[1::4], yuyv[3::4]),
        "UYVY": (uyvy[1::2], uyvy[0::4], uyvy[2::4]),
    }
    for name, planes in layouts.items():
        for plane, value in zip(planes, expected, strict=True):
            assert np.abs(plane.astype(float) - value).max() <= 2, name
    assert np.array_equal(convert(image, "BGR").reshape(h, w, 3), image[..., ::-1])


@pytest.mark.skipif(bool(glob.glob("/dev/video*")), reason="a video device exists here")
def test_missing_virtual_camera_says_how_to_set_one_up() -> None:
    pytest.importorskip("pyvirtualcam")
    from rtswap.output.virtualcam import VirtualCameraSink

    with pytest.raises(OutputError, match="modprobe v4l2loopback"):
        VirtualCameraSink(VideoInfo(640, 480, Fraction(30), Fraction(1, 30), 0, has_audio=False))


def test_window_needs_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks.sys, "platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(OutputError, match="no display"):
        window.WindowSink(PipelineStats())


def test_overlay_shows_fps_latency_and_faces() -> None:

    stats = PipelineStats()
    image = np.zeros((2, 2, 3), np.uint8)
    for i in range(31):
        frame = Frame(index=i, capture_ns=i * 33_000_000, host=image, image=torch.from_numpy(image))
        face = Face(box=np.zeros(4), landmarks=np.zeros((478, 3), np.float32), score=1.0)
        frame.faces = [face, Face(face.box, face.landmarks, 1.0, held=i == 30)]
        stats.record(frame, output_ns=i * 33_000_000 + 25_000_000)
    assert window.overlay_text(stats) == "30.3 fps | latency p50  25 ms p95  25 ms | faces 2 (1 held)"


def test_a_live_recording_runs_at_a_constant_rate_repeating_dropped_frames(tmp_path: Path) -> None:

    import av

    from rtswap.output.file import VideoFileSink

    info = VideoInfo(64, 48, Fraction(30), Fraction(1, 30), 0, has_audio=False)
    sink = VideoFileSink(tmp_path / "live.mp4", info, live=True, constant_rate=True)
    kept = [0, 1, 2, 5, 6, 9]  # frames 3, 4, 7 and 8 were dropped on the way
    for i in kept:
        image = np.full((48, 64, 3), 20 * i, np.uint8)
        sink.write(image, Frame(i, 0, torch.from_numpy(image), image, pts=i, time_base=Fraction(1, 30)))
    sink.close()
    with av.open(str(tmp_path / "live.mp4")) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert stream.average_rate == 30
    assert len(frames) == 10  # every slot of the 10 frames' duration
    shown = [round(float(f.mean()) / 20) for f in frames]
    assert shown == [0, 1, 2, 2, 2, 5, 6, 6, 6, 9]  # a dropped frame repeats the one before
