"""SIGTERM stops ``rtswap live`` and ``rtswap serve`` cleanly: peers, pipelines and files closed,
a recording in progress finalised and playable. The time each took is printed (the README has
the figures); the tests only guard against a hang."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from rtswap.media.samples import grace_hopper_path

ROOT = Path(__file__).parent.parent.parent


def _wait_for(process: subprocess.Popen[str], text: str, timeout_s: float = 120.0) -> None:
    """Read the process's stderr until a line contains ``text``."""
    deadline = time.monotonic() + timeout_s
    assert process.stderr is not None
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if text in line:
            return
        assert line or process.poll() is None, f"exited before {text!r}"
    raise AssertionError(f"no {text!r} within {timeout_s} s")


def _stop(process: subprocess.Popen[str]) -> float:
    start = time.monotonic()
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)
    return time.monotonic() - start


def test_sigterm_ends_a_live_run_and_finalises_its_recording(tmp_path: Path) -> None:
    out = tmp_path / "live.mp4"
    command = [sys.executable, "-m", "rtswap", "live", "--source", str(grace_hopper_path())]
    command += ["--input", "synthetic", "--resolution", "480x360", "--output", str(out)]
    with subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) as process:
        _wait_for(process, "Ctrl-C to stop")
        _wait_for(process, "quality:")  # the live readout: frames are coming out (the first takes seconds)
        time.sleep(2.0)  # recording
        seconds = _stop(process)
    print(f"live stopped {seconds:.2f} s after SIGTERM")
    assert process.returncode == 0
    with av.open(str(out)) as container:
        assert len(list(container.decode(video=0))) > 10  # complete and playable
    assert not list(tmp_path.glob(".*partial*"))


def test_sigterm_ends_serve_with_a_peer_streaming(tmp_path: Path) -> None:
    pytest.importorskip("aiortc")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    serve = [sys.executable, "-m", "rtswap", "serve", "--port", str(port), "--token", "t"]
    with subprocess.Popen(
        serve, cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as server:
        assert server.stdout is not None
        assert "open http://" in server.stdout.readline()
        peer_command = [
            sys.executable,
            "-m",
            "rtswap.testing.peer",
            url,
            "t",
            "20",
            str(tmp_path / "p.npz"),
        ]
        with subprocess.Popen(peer_command, cwd=ROOT, stderr=subprocess.PIPE, text=True) as peer:
            try:
                _wait_for_session(url, peer)
                time.sleep(2.0)  # streaming
                seconds = _stop(server)
            finally:  # a failure is reported, not a hang on the processes' exits
                peer.kill()
                server.kill()
    print(f"serve stopped {seconds:.2f} s after SIGTERM")
    assert server.returncode == 0


def _wait_for_session(url: str, peer: subprocess.Popen[str], timeout_s: float = 60.0) -> None:
    import json
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and peer.poll() is None:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as reply:
            if json.load(reply)["sessions"] > 0:
                return
        time.sleep(0.2)
    assert peer.stderr is not None
    raise AssertionError(
        f"the peer never connected; it said: {peer.stderr.read() if peer.poll() is not None else ''}"
    )
