"""`rtswap serve --ray local`: a cluster of one machine for as long as the command runs. In a module
of its own: the cluster tests' Ray must not be running beside it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

pytest.importorskip("ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ray_local_needs_no_cluster_and_leaves_none_behind() -> None:
    """`rtswap serve --ray local` starts Ray for itself, answers, and on Ctrl-C stops it again."""
    port = _free_port()
    command = [sys.executable, "-m", "rtswap", "serve", "--ray", "local", "--port", str(port)]
    command += ["--token", "t", "--device", "cpu", "--no-occluders", "--max-replicas", "1"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True) as server:
        try:
            assert server.stdout is not None
            deadline = time.monotonic() + 180
            while "open http://" not in server.stdout.readline():
                assert time.monotonic() < deadline and server.poll() is None
            health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            assert health.status_code == 200 and health.json()["sessions"] == 0
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=120)
    leftover = subprocess.run(["pgrep", "-f", f"ray.*{port}|raylet"], capture_output=True, text=True).stdout
    assert leftover.strip() == ""
