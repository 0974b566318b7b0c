"""``rtswap serve --ray`` against ``rtswap serve``, in one run on this machine.

- Session setup: the time from posting an offer to holding the answer, through the Ray ingress and
  from the single-machine server, alternating, ``--offers`` times each (warp engine, CPU).
- Frames per second of one replica with 1, 2 and 4 sessions: that many loopback peers (their own
  processes, sending 320x240 at 30 fps) on a cluster of one replica; the replica's rate is the
  sum of what its peers get back. The peers share this machine with the replica.

Starts a local Ray cluster (``ray start --head``) and stops it at the end.

    python benchmarks/cluster.py [--offers 10] [--seconds 12] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import numpy as np
from aiortc import RTCPeerConnection, RTCSessionDescription, VideoStreamTrack

from rtswap.bench.runner import machine

TOKEN = "bench"
ROOT = Path(__file__).parent.parent


def _start(command: list[str], url: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(f"{url}/healthz", timeout=2)
            return process
        except OSError:
            time.sleep(1)
    process.kill()
    raise SystemExit(f"{' '.join(command)} did not come up")


async def _setup_ms(url: str) -> float:
    """One offer to its answer; then the call is connected and hung up, which ends the session."""
    pc = RTCPeerConnection()
    pc.addTrack(VideoStreamTrack())  # any video: the offer is what is timed
    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        start = time.perf_counter()
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        reply = await http.post(f"{url}/offer", json=body, headers={"Authorization": f"Bearer {TOKEN}"})
        answer = await reply.json()
        elapsed = (time.perf_counter() - start) * 1000
    connected = asyncio.Event()

    @pc.on("connectionstatechange")
    def on_state() -> None:
        if pc.connectionState == "connected":
            connected.set()

    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    await asyncio.wait_for(connected.wait(), 20)
    await pc.close()
    await asyncio.sleep(1.0)  # the server ends the session
    return elapsed


def _replica_fps(url: str, sessions: int, seconds: float, folder: Path) -> float:
    outs = [folder / f"peer-{sessions}-{k}.npz" for k in range(sessions)]
    command = [sys.executable, "-m", "tests.loopback_peer", url, TOKEN, str(seconds)]
    peers = [subprocess.Popen([*command, str(out), "320x240"], cwd=ROOT) for out in outs]
    for peer in peers:
        peer.wait(timeout=seconds + 120)
    rates = []
    for out in outs:
        times = np.load(out)["times"]
        rates.append((len(times) - 1) / (times[-1] - times[0]))
    return float(sum(rates))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--offers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rtswap = [sys.executable, "-m", "rtswap", "-q", "serve", "--token", TOKEN, "--max-sessions", "4"]
    single_url, ray_url = "http://127.0.0.1:8181", "http://127.0.0.1:8182"
    subprocess.run(["ray", "start", "--head", "--num-cpus", "8"], check=True, capture_output=True)
    servers = []
    try:
        servers.append(_start([*rtswap, "--port", "8181"], single_url))
        on_ray = ["--port", "8182", "--ray", "auto", "--min-replicas", "1", "--max-replicas", "1"]
        servers.append(_start([*rtswap, *on_ray], ray_url))
        setup: dict[str, list[float]] = {"single machine": [], "ray ingress": []}
        for _ in range(args.offers):
            for name, url in (("single machine", single_url), ("ray ingress", ray_url)):
                setup[name].append(asyncio.run(_setup_ms(url)))
        servers.pop(0).terminate()  # the replica alone on the machine, with its peers
        with tempfile.TemporaryDirectory() as folder:
            fps = {n: _replica_fps(ray_url, n, args.seconds, Path(folder)) for n in (1, 2, 4)}
    finally:
        for server in servers:
            server.terminate()
        subprocess.run(["ray", "stop"], capture_output=True)
    rows = {
        name: {"median_ms": round(statistics.median(v), 1), "p95_ms": round(float(np.percentile(v, 95)), 1)}
        for name, v in setup.items()
    }
    ratio = rows["ray ingress"]["median_ms"] / rows["single machine"]["median_ms"]
    print(f"session setup ({args.offers} offers each): {rows}; ray / single machine {ratio:.2f}")
    print("frames/s of one replica by sessions: " + ", ".join(f"{n}: {v:.1f}" for n, v in fps.items()))
    if args.json:
        result = {"machine": machine(), "setup": rows, "setup_ratio": round(ratio, 2), "replica_fps": fps}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
