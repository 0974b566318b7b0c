"""What a newcomer meets first: mistakes answered in one line before anything heavy is imported,
one message that works headless, and a live recording that says what it wrote."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from rtswap.cli import main
from rtswap.media.image import write_image
from rtswap.media.samples import grace_hopper_path
from tests.conftest import png_header

GRACE = str(grace_hopper_path())


def _error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one clear line, no traceback
    return err[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["swap", "--source", GRACE, "{tmp}/in.png", "/no/such/folder/out.png"], "folder /no/such/folder"),
        (["swap", "{tmp}/in.png", "{tmp}/out.png"], "--source"),
        (
            ["live", "--source", GRACE, "--input", "synthetic", "--output", "/no/such/folder/out.mp4"],
            "folder",
        ),
        (["identity", "add", "taken", GRACE], "already stored"),
        (["identity", "add", "new", "{tmp}/missing.jpg"], "no such file"),
        (["swap", "--source", GRACE, "--crop-size", "100", "{tmp}/in.png", "{tmp}/out.png"], "multiple of 8"),
        (["demo", "--out", "{tmp}/in.png"], "in.png: cannot make the output folder there"),
        (["bench", "--input", "{tmp}/in.png"], "bench loops a video file (or synthetic); this is an image"),
        (["bench", "--fps", "1e9"], "the synthetic clip, 5 s at 1280x720 and 1e+09 fps, would take"),
        (
            ["demo", "--seconds", "100"],
            "the synthetic clip, 100 s at 1280x720 and 30 fps, would take 7.7 GiB",
        ),
        (["swap", "--source", GRACE, "{tmp}/in.png", "{tmp}"], "is a folder; give the output file's name"),
        (
            ["live", "--source", GRACE, "--input", "synthetic", "--output", "{tmp}/out.webm"],
            "out.webm: rtswap writes video as .mp4, .mkv, .mov, .avi (H.264)",
        ),
        (
            ["swap", "--source", GRACE, "--mask-regions", "eyes", "{tmp}/in.png", "{tmp}/o.png"],
            "add region to --mask",
        ),
    ],
    ids=[
        "swap-output-folder",
        "swap-no-source",
        "live-output-folder",
        "identity-taken",
        "identity-file",
        "crop-size",
        "demo-out-a-file",
        "bench-an-image",
        "bench-synthetic-too-large",
        "demo-too-long",
        "swap-output-a-folder",
        "live-webm",
        "mask-regions-without-region",
    ],
)
def test_mistakes_are_answered_before_torch_is_imported(
    argv: list[str], message: str, tmp_path: Path
) -> None:
    write_image(tmp_path / "in.png", np.full((64, 64, 3), 100, np.uint8))
    (tmp_path / "cache" / "named" / "taken").mkdir(parents=True)
    (tmp_path / "cache" / "named" / "taken" / "manifest.json").write_text("{}")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    code = (
        "import sys\nfrom rtswap.cli import main\n"
        f"code = main({argv!r})\n"
        "heavy = ('torch', 'mediapipe', 'av', 'onnx', 'matplotlib')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))"
    )
    env = {"RTSWAP_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip().splitlines()[-1] == "1 []"
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--seconds", "0"], "argument --seconds: must be more than 0, got 0"),
        (["bench", "--faces", "100"], "argument --faces: must be from 1 to 16, got 100"),
        (["serve", "--port", "99999"], "argument --port: must be from 1 to 65535, got 99999"),
        (["bench", "--resolution", "20000x20000"], "resolution past 3840x2160: 20000x20000"),
        (["bench", "--fps", "nan"], "argument --fps: must be a finite number, got nan"),
        (["demo", "--seconds", "-1"], "argument --seconds: must be more than 0, got -1"),
        (["live", "--input", "synthetic", "--fps", "0"], "argument --fps: must be more than 0, got 0"),
        (
            ["live", "--input", "synthetic", "--seconds", "0"],
            "argument --seconds: must be more than 0, got 0",
        ),
    ],
    ids=[
        "bench-seconds",
        "bench-faces",
        "serve-port",
        "bench-resolution",
        "bench-fps-nan",
        "demo-seconds",
        "live-fps",
        "live-seconds",
    ],
)
def test_numbers_out_of_range_are_refused_by_the_parser(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("RTSWAP_CACHE", str(tmp_path / "cache"))
    with pytest.raises(SystemExit) as exited:
        main(["-q", *argv])
    assert exited.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(message)
    assert not (tmp_path / "cache").exists()  # nothing rendered or prepared


def test_headless_without_a_camera_gets_one_message_with_a_command_that_works(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("rtswap.output.checks.display_available", lambda: False)
    monkeypatch.setattr("rtswap.capture.checks.camera_missing", lambda spec: "/dev/video0")
    assert main(["-q", "live", "--source", GRACE]) == 1
    line = _error_line(capsys)
    assert "no camera at /dev/video0 and no display" in line
    assert line.endswith(f"rtswap live --source {GRACE} --input synthetic --output live.mp4")


def test_a_source_that_is_not_media_is_named_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.toml").write_text("[not]\nmedia = true\n")
    write_image(tmp_path / "in.png", np.full((64, 64, 3), 100, np.uint8))
    argv = [
        "-q",
        "swap",
        "--source",
        str(tmp_path / "notes.toml"),
        str(tmp_path / "in.png"),
        str(tmp_path / "o.png"),
    ]
    assert main(argv) == 1
    assert "not a video or image rtswap can read" in _error_line(capsys)


def test_a_live_recording_says_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "live.mp4"
    argv = ["live", "--source", GRACE, "--input", "synthetic", "--resolution", "320x240"]
    assert main(["-q", *argv, "--output", str(out), "--seconds", "3", "--no-occluders"]) == 0
    printed = capsys.readouterr().out
    with av.open(str(out)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert f"wrote {out} ({frames} frames" in printed


def test_the_live_status_line_and_log_notes_never_share_a_line() -> None:
    """The status line is rewritten in place on stderr; the governor's notes (forced here by a
    1 ms budget) start lines of their own."""
    argv = ["live", "--source", GRACE, "--input", "synthetic", "--resolution", "320x240", "--output", "null"]
    argv += ["--seconds", "6", "--latency-budget", "1", "--no-occluders"]
    command = [sys.executable, "-m", "rtswap", *argv]
    done = subprocess.run(command, capture_output=True, timeout=120)  # bytes: text mode drops the \r
    assert done.returncode == 0
    lines = done.stderr.decode().split("\n")
    notes = [line for line in lines if "governor: quality down" in line]
    assert notes and all(line.startswith("rtswap: governor") for line in notes)
    assert any(line.startswith("\r") and "fps | latency" in line for line in lines)


@pytest.mark.parametrize("side", [13000, 30000])
def test_an_image_past_the_size_rtswap_reads_is_one_line(
    side: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A few dozen bytes can declare 900 megapixels: refused from the header, before a decoder
    takes gigabytes or crashes the process."""
    (tmp_path / "bomb.png").write_bytes(png_header(side, side))
    write_image(tmp_path / "in.png", np.full((64, 64, 3), 100, np.uint8))
    paths = [str(tmp_path / name) for name in ("bomb.png", "in.png", "o.png")]
    assert main(["-q", "swap", "--source", *paths]) == 1
    assert "larger than rtswap reads (8192 px a side, 40 MP)" in _error_line(capsys)
    assert not (tmp_path / "o.png").exists()


def test_a_video_too_small_for_a_face_is_one_line_before_the_source_is_prepared(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = tmp_path / "tiny.avi"
    with av.open(str(tiny), "w") as container:
        stream = container.add_stream("rawvideo", rate=30)
        stream.width, stream.height, stream.pix_fmt = 8, 8, "yuv420p"
        for _ in range(3):
            container.mux(
                stream.encode(av.VideoFrame.from_ndarray(np.zeros((8, 8, 3), np.uint8), format="rgb24"))
            )
        container.mux(stream.encode())
    assert main(["swap", "--source", GRACE, str(tiny), str(tmp_path / "out.avi")]) == 1
    assert "its frames are 8x8: too small to hold a face" in _error_line(capsys)
    assert not (tmp_path / "out.avi").exists()
