"""The command line as a user runs it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from rtswap.bench.runner import format_table
from rtswap.cli import main
from rtswap.media.image import read_image, write_image
from rtswap.media.label import METADATA
from rtswap.media.samples import grace_hopper_path
from tests.conftest import write_video

GRACE = str(grace_hopper_path())


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one clear line, no traceback
    return err[0]


def test_help_explains_every_command() -> None:
    for command in ([], ["demo"], ["swap"], ["live"], ["bench"]):
        result = subprocess.run(
            [sys.executable, "-m", "rtswap", *command, "--help"], capture_output=True, text=True
        )
        assert result.returncode == 0
        assert "usage: rtswap" in result.stdout


def test_swap_image_writes_a_labelled_result(
    astro: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target, out = tmp_path / "astro.png", tmp_path / "out.png"
    write_image(target, astro)
    assert main(["-q", "swap", "--source", GRACE, str(target), str(out)]) == 0
    printed = capsys.readouterr().out
    assert re.search(r"\(1 frame, 1 face swapped, \d+\.\d s\)", printed) and "fps" not in printed
    result = read_image(out)
    assert result.shape == astro.shape and not np.array_equal(result, astro)
    assert Image.open(out).info["comment"] == METADATA["comment"]
    # the visible label sits in the bottom-right corner; --no-label leaves the corner alone
    assert np.abs(result[-12:, -40:].astype(int) - astro[-12:, -40:]).max() > 50
    assert main(["-q", "swap", "--no-label", "--source", GRACE, str(target), str(out)]) == 0
    assert np.array_equal(read_image(out)[-12:, -40:], astro[-12:, -40:])


def test_swap_takes_the_sources_face_shape_when_asked(astro: np.ndarray, tmp_path: Path) -> None:
    target, plain, shaped = tmp_path / "astro.png", tmp_path / "plain.png", tmp_path / "shaped.png"
    write_image(target, astro)
    assert main(["-q", "swap", "--no-label", "--source", GRACE, str(target), str(plain)]) == 0
    assert (
        main(["-q", "swap", "--no-label", "--shape", "source", "--source", GRACE, str(target), str(shaped)])
        == 0
    )
    difference = np.abs(read_image(shaped).astype(int) - read_image(plain).astype(int)).max(axis=-1)
    assert (difference > 10).mean() > 0.01


def test_swap_video_keeps_every_frame_and_the_audio(face_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "swapped.mp4"
    assert main(["-q", "swap", "--source", GRACE, str(face_video), str(out)]) == 0
    with av.open(str(face_video)) as a, av.open(str(out)) as b:
        assert b.streams.video[0].frames == a.streams.video[0].frames
        assert b.streams.video[0].average_rate == a.streams.video[0].average_rate
        assert b.duration == pytest.approx(a.duration, abs=50_000)  # µs
        assert len(b.streams.audio) == 1
        first_in = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(int)
        first_out = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(int)
    assert np.abs(first_out - first_in).max() > 60  # the face changed


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda d: ["--source", str(d / "missing.jpg"), GRACE, str(d / "o.png")],
            "missing.jpg: no such file",
        ),
        (
            lambda d: ["--source", str(d / "notes.jpg"), GRACE, str(d / "o.png")],
            "notes.jpg: not a readable image",
        ),
        (
            lambda d: ["--source", str(d / "blank.png"), GRACE, str(d / "o.png")],
            "no face found in the source",
        ),
        (lambda d: ["--source", GRACE, str(d / "nope.mp4"), str(d / "o.mp4")], "nope.mp4: no such file"),
        (lambda d: ["--source", GRACE, str(d), str(d / "o.mp4")], ": a folder, not a file"),
        (lambda d: ["--source", GRACE, GRACE, str(d / "no" / "dir" / "o.png")], "does not exist"),
        (lambda d: ["--source", GRACE, str(d / "cut.mp4"), str(d / "o.mp4")], "cut.mp4"),
        (lambda d: ["--source", GRACE, GRACE, str(d / "o.mp4")], "output must be too"),
    ],
    ids=[
        "missing-source",
        "not-an-image",
        "no-face",
        "missing-input",
        "folder-input",
        "missing-folder",
        "truncated-video",
        "kind-mismatch",
    ],
)
def test_bad_input_fails_with_one_line_and_leaves_no_output(
    make_args: Callable[[Path], list[str]],
    message: str,
    tmp_path: Path,
    face_video: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "notes.jpg").write_text("not a picture")
    write_image(tmp_path / "blank.png", np.full((200, 200, 3), 120, np.uint8))
    data = face_video.read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 2 // 3])
    before = set(tmp_path.iterdir())
    assert main(["-q", "swap", *make_args(tmp_path)]) == 1
    line = _error_line(capsys)
    assert line.startswith("rtswap: error:") and message in line
    assert set(tmp_path.iterdir()) == before  # nothing written, nothing half-written


def test_demo_writes_video_and_preview(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "demo", "--out", str(tmp_path / "demo"), "--seconds", "1.2"]) == 0
    out = capsys.readouterr().out
    assert "demo.mp4" in out and "fps" in out
    with av.open(str(tmp_path / "demo" / "demo.mp4")) as c:
        video = c.streams.video[0]
        assert (video.width, video.height, video.frames, video.average_rate) == (1280, 720, 36, 30)
    preview = read_image(tmp_path / "demo" / "preview.png")
    assert preview.shape[0] == 360 and preview.shape[1] > 3 * 300  # source | target | result


def test_live_synthetic_input_to_a_file_and_null(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "live.mp4"
    args = ["--input", "synthetic", "--resolution", "480x360", "--output", "null", "--output", str(out)]
    assert main(["-q", "live", "--source", GRACE, *args, "--seconds", "2"]) == 0
    printed = capsys.readouterr().out
    assert "fps out" in printed and "glass-to-glass latency p50" in printed
    with av.open(str(out)) as c:
        assert 40 <= c.streams.video[0].frames <= 62  # about 2 s at 30 fps
        assert c.metadata["comment"].startswith("Synthetic")


def test_live_input_that_breaks_ends_with_one_line_and_keeps_the_recording(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(30)]  # noise: big frames
    full, cut, out = tmp_path / "full.mp4", tmp_path / "cut.mp4", tmp_path / "rec.mp4"
    write_video(full, frames, faststart=True)
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # the stream stops half way, like an unplugged camera
    assert main(["-q", "live", "--source", GRACE, "--input", str(cut), "--output", str(out)]) == 1
    line = _error_line(capsys)
    assert line.startswith("rtswap: error: capture:") and "truncated" in line
    with av.open(str(out)) as c:
        assert 5 <= c.streams.video[0].frames < 30


def test_live_without_a_display_asks_for_another_output(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("rtswap.output.checks.display_available", lambda: False)
    assert main(["-q", "live", "--source", GRACE, "--input", "synthetic"]) == 1
    assert "choose --output virtualcam" in _error_line(capsys)


def test_bench_writes_the_promised_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bench.json"
    args = ["--resolution", "320x240", "--seconds", "1", "--compare-sequential", "--json", str(path)]
    assert main(["-q", "bench", *args]) == 0
    assert "glass-to-glass" in capsys.readouterr().out
    result = json.loads(path.read_text())
    assert {
        "machine",
        "fps_in",
        "fps_out",
        "dropped",
        "latency_ms",
        "stages",
        "sequential",
        "speedup",
    } <= set(result)
    assert {"cpu", "cores", "gpu"} <= set(result["machine"])
    assert set(result["latency_ms"]) == {"p50", "p95", "p99"} and result["latency_ms"]["p50"] > 0
    assert set(result["stages"]) == {"capture", "detect", "track", "swap", "composite", "output"}
    assert result["fps_out"] > 0 and result["sequential"]["fps_out"] > 0
    assert result["speedup"] == pytest.approx(result["fps_out"] / result["sequential"]["fps_out"], abs=0.01)
    assert "gpu" not in result  # the GPU's memory and load are reported on CUDA only
    on_gpu = {
        **result,
        "gpu": {"memory_peak_mib": 812.5, "busy_percent": {"p50": 41.0, "p95": 60.0, "p99": 63.0}},
    }
    assert "GPU memory peak 812.5 MiB, busy 41% (p50 of 1 s samples), 63% (p99)" in format_table(on_gpu)


def test_identity_add_list_use_and_remove(
    tmp_path: Path, astro: np.ndarray, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    write_image(tmp_path / "astro.png", astro)
    assert main(["-q", "identity", "add", "grace", GRACE]) == 0
    assert "stored 'grace' for warp: 1 view(s)" in capsys.readouterr().out
    assert main(["identity", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[:3] == ["name", "views", "yaw°"] and listing[-1].split()[:2] == ["grace", "1"]
    assert (
        main(["-q", "swap", "--source", "grace", str(tmp_path / "astro.png"), str(tmp_path / "out.png")]) == 0
    )
    assert main(["identity", "rm", "grace"]) == 0
    capsys.readouterr()
    assert (
        main(["-q", "swap", "--source", "grace", str(tmp_path / "astro.png"), str(tmp_path / "o2.png")]) == 1
    )
    assert "no stored identity by that name" in _error_line(capsys)
    assert (
        main(["-q", "swap", "--source", str(tmp_path), str(tmp_path / "astro.png"), str(tmp_path / "o3.png")])
        == 1
    )
    assert "a folder; give one photo or video" in _error_line(capsys)
    assert main(["-q", "identity", "add", "grace", str(tmp_path)]) == 1
    assert "a folder: name its files" in _error_line(capsys)
    assert main(["-q", "identity", "add", "../evil", GRACE]) == 1
    assert "invalid identity name" in _error_line(capsys)


@pytest.mark.parametrize("argv", [["--help"], ["swap", "--help"], ["live", "--help"], ["engines", "--help"]])
def test_help_answers_without_heavy_imports(argv: list[str]) -> None:
    code = (
        "import sys\nfrom rtswap.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('torch', 'mediapipe', 'av', 'cv2', 'onnx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    "argv",
    [
        ["--source", "face.jpg", "--input", "in.mp4", "--output", "out.mp4"],
        ["--source", "face.jpg", "--output", "out.mp4", "--input", "in.mp4"],
        ["--source", "face.jpg", "in.mp4", "--output", "out.mp4"],
    ],
    ids=["both", "reversed", "output-only"],
)
def test_swap_written_with_lives_file_flags_is_shown_as_meant(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["swap", *argv]) == 1
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [
        "rtswap: error: swap takes its input and output without --input/--output: "
        "rtswap swap --source face.jpg in.mp4 out.mp4"
    ]


def test_quiet_works_before_or_after_the_command() -> None:
    from rtswap.cli import build_parser

    parser = build_parser()
    args = ["--source", GRACE, "in.png", "out.png"]
    assert parser.parse_args(["-q", "swap", *args]).quiet and parser.parse_args(["swap", "-q", *args]).quiet
    assert not parser.parse_args(["swap", *args]).quiet
    assert parser.parse_args(["identity", "list", "-q"]).quiet


def test_quiet_shows_no_progress_while_a_video_source_is_prepared(
    face_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    assert main(["-q", "swap", "--source", str(face_video), GRACE, str(tmp_path / "out.png")]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["live", "--input", "synthetic", "--output", "missing_dir/x.mp4"],
            "folder missing_dir does not exist",
        ),
        (["live", "--input", "synthetic", "--output", "still.png"], "a live run writes a video"),
        (["live", "--input", "nothing.mp4", "--output", "null"], "nothing.mp4: no such file"),
        (["live", "--input", ".", "--output", "null"], ".: a folder, not a file"),
        (["swap", GRACE, "missing_dir/x.png"], "does not exist"),
        (["swap", GRACE, "x.png", "--device", "cpu", "--precision", "fp16"], "fp16 needs a CUDA device"),
    ],
    ids=[
        "missing-folder",
        "image-output",
        "missing-input",
        "folder-input",
        "swap-missing-folder",
        "half-precision-on-cpu",
    ],
)
def test_arguments_are_checked_before_any_preparation(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "face.png"
    write_image(source, read_image(GRACE))
    command, rest = argv[0], argv[1:]
    assert main(["-q", command, "--source", str(source), *rest]) == 1
    assert message in _error_line(capsys)
    assert not (tmp_path / "cache").exists()  # no source prepared, no clip rendered


@pytest.mark.skipif(
    bool(__import__("glob").glob("/sys/devices/virtual/video4linux/video*")), reason="has one"
)
def test_a_missing_virtual_camera_is_reported_before_any_preparation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyvirtualcam")
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    assert main(["-q", "live", "--source", GRACE, "--input", "synthetic", "--output", "virtualcam"]) == 1
    assert "no virtual camera available" in _error_line(capsys)
    assert not (tmp_path / "cache").exists()


def test_a_source_that_is_neither_image_nor_video_is_named_before_any_progress(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("a shopping list")
    assert main(["swap", "--source", str(notes), GRACE, str(tmp_path / "out.png")]) == 1
    line = _error_line(capsys)  # one line: no progress bar before it
    assert "notes.txt: not a video or image rtswap can read" in line


def test_identity_add_does_not_replace_silently(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    assert main(["-q", "identity", "add", "grace", GRACE]) == 0
    capsys.readouterr()
    assert main(["-q", "identity", "add", "grace", GRACE]) == 1
    assert "already stored; add --force to replace it" in _error_line(capsys)
    assert main(["-q", "identity", "add", "grace", GRACE, "--force"]) == 0


def test_a_live_recording_is_constant_rate_unless_vfr_is_asked(tmp_path: Path) -> None:
    common = [
        "-q",
        "live",
        "--source",
        GRACE,
        "--input",
        "synthetic",
        "--resolution",
        "480x360",
        "--seconds",
        "2",
    ]
    for name, extra in (("cfr.mp4", []), ("vfr.mp4", ["--vfr"])):
        assert main([*common, "--output", str(tmp_path / name), *extra]) == 0
    with av.open(str(tmp_path / "cfr.mp4")) as c:
        stream = c.streams.video[0]
        pts = sorted(p.pts for p in c.demux(stream) if p.pts is not None)
        assert stream.average_rate is not None and stream.time_base is not None
        frame_ticks = 1 / (stream.average_rate * stream.time_base)
        assert stream.average_rate == 30
    assert len(pts) > 30 and set(np.diff(pts).tolist()) == {frame_ticks}  # every 1/30 s slot filled
    assert (tmp_path / "vfr.mp4").stat().st_size > 0
