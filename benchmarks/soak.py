"""Soak of ``rtswap serve``: peers in their own processes for half an hour, reconnecting every few
minutes, against a server on this machine. Reports, per five minutes, the peers' round-trip
latency p50/p95 (each frame's number read back from its pixels) and the server's resident memory,
threads and open files, and compares the last five minutes with the first.

    python benchmarks/soak.py [--minutes 30] [--peers 4] [--call-seconds 120] [--fps 30] [--json PATH]

A server that holds up: memory and p95 at the end within 10% of the first five minutes, no growth
in threads or open files. The peers send 320x240 at ``--fps`` each (the peer keeps what it
receives in memory until its call ends). Four peers at 30 fps are more than two cores can swap,
encode and decode (the frames queue in the codecs and the round trip grows to seconds): on such a
machine, a soak that says whether the server holds up runs its peers at a rate it keeps up with.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rtswap.bench.runner import machine

TOKEN = "soak"
WINDOW_S = 300.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _process_figures(pid: int) -> dict[str, float]:
    """Resident memory (MiB), threads and open files of process ``pid``, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = {line.split(":")[0]: line.split(":")[1].split() for line in status if ":" in line}
    return {
        "rss_mb": int(fields["VmRSS"][0]) / 1024,
        "threads": int(fields["Threads"][0]),
        "fds": len(list(Path(f"/proc/{pid}/fd").iterdir())),
    }


def _peer_calls(
    url: str, until: float, call_s: float, fps: float, folder: Path, slot: int, calls: list[Path]
) -> None:
    """One peer slot: calls of ``call_s`` back to back, each a fresh peer process, until ``until``."""
    number = 0
    while time.monotonic() + call_s <= until:
        out = folder / f"peer{slot}-{number}.npz"
        command = [sys.executable, "-m", "rtswap.testing.peer", url, TOKEN, str(call_s), str(out)]
        command += ["320x240", str(fps)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        calls.append(out)
        number += 1


def soak(minutes: float, peers: int, call_s: float, fps: float) -> dict[str, Any]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "rtswap", "serve", "--port", str(port), "--token", TOKEN]
    command += ["--device", "cpu", "--max-sessions", str(peers)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    while "open http://" not in server.stdout.readline():
        assert server.poll() is None, "the server did not start"
    start = time.monotonic()
    until = start + minutes * 60
    samples: list[dict[str, float]] = []
    calls: list[Path] = []
    with tempfile.TemporaryDirectory() as folder:
        slots = [
            threading.Thread(target=_peer_calls, args=(url, until, call_s, fps, Path(folder), k, calls))
            for k in range(peers)
        ]
        for slot in slots:
            slot.start()
        while any(slot.is_alive() for slot in slots):
            samples.append({"at_s": time.monotonic() - start, **_process_figures(server.pid)})
            time.sleep(10)
        server.terminate()
        server.wait(timeout=60)
        frames = [np.load(path) for path in calls]
        times = np.concatenate([f["times"] for f in frames]) - start
        latency = np.concatenate([f["latency_ms"] for f in frames])
    return {
        "machine": machine(),
        "minutes": minutes,
        "peers": peers,
        "call_s": call_s,
        "fps_per_peer": fps,
        "windows": _windows(samples, times, latency, minutes * 60),
        "server_samples": [{k: round(v, 1) for k, v in sample.items()} for sample in samples],
    }


def _windows(
    samples: list[dict[str, float]], times: np.ndarray, latency: np.ndarray, seconds: float
) -> list[dict[str, Any]]:
    """Per five minutes of the soak's ``seconds`` (not the calls' ends after it): the peers'
    latency p50/p95, and the server's figures sampled every 10 s:
    resident memory's median, the most threads and open files (calls end and begin at different
    times, so a single sample depends on how many sessions it caught)."""
    rows = []
    for begin in np.arange(0, seconds, WINDOW_S):
        inside = (times >= begin) & (times < begin + WINDOW_S) & np.isfinite(latency)
        window = [s for s in samples if begin <= s["at_s"] < begin + WINDOW_S]
        rows.append(
            {
                "from_min": round(begin / 60, 1),
                "frames": int(inside.sum()),
                "latency_p50_ms": round(float(np.percentile(latency[inside], 50)), 1)
                if inside.any()
                else None,
                "latency_p95_ms": round(float(np.percentile(latency[inside], 95)), 1)
                if inside.any()
                else None,
                "rss_mb": round(float(np.median([s["rss_mb"] for s in window])), 1),
                "threads": max(s["threads"] for s in window),
                "fds": max(s["fds"] for s in window),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--peers", type=int, default=4)
    parser.add_argument("--call-seconds", type=float, default=120.0)
    parser.add_argument("--fps", type=float, default=30.0, help="frames per second each peer sends")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    result = soak(args.minutes, args.peers, args.call_seconds, args.fps)
    first, last = result["windows"][0], result["windows"][-1]
    for row in result["windows"]:
        print(json.dumps(row))
    if first["latency_p95_ms"] and last["latency_p95_ms"]:
        print(
            f"last 5 min vs first: p95 x{last['latency_p95_ms'] / first['latency_p95_ms']:.2f}, "
            f"memory x{last['rss_mb'] / first['rss_mb']:.2f}, threads {first['threads']} -> "
            f"{last['threads']}, open files {first['fds']} -> {last['fds']}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
