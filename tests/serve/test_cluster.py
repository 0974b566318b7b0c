"""``rtswap serve --ray`` on a local Ray cluster: two SwapSession replicas behind the ingress,
real aiortc peers in their own processes, one replica killed mid-call."""

from __future__ import annotations

import json
import logging
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests

serve = pytest.importorskip("ray.serve")
import ray  # noqa: E402

from rtswap.config import SwapConfig  # noqa: E402
from rtswap.media.image import read_image  # noqa: E402
from rtswap.media.samples import grace_hopper_path  # noqa: E402
from rtswap.serve.cluster import APP, ClusterConfig, application  # noqa: E402
from tests.conftest import SERVER_TOKEN as TOKEN  # noqa: E402

pytestmark = pytest.mark.slow
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).parent.parent.parent
PEER_SIZE = "320x240"
"""Peers send small frames: four of them and two replicas share this machine's two cores."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The ingress's URL; two replicas of at most three sessions each."""
    ray.init(num_cpus=8, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    port = _free_port()
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    # no hand and skin checks: four sessions share this machine's two cores
    swap = SwapConfig(device="cpu", landmarks="mediapipe", keep_occluders=False)
    config = ClusterConfig(max_sessions=3, min_replicas=2, max_replicas=2)
    serve.run(application(read_image(grace_hopper_path()), swap, config, TOKEN), name=APP, route_prefix="/")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        serve.shutdown()
        ray.shutdown()


def _health(url: str) -> dict[str, Any]:
    reply = requests.get(f"{url}/healthz", headers=AUTH, timeout=10)
    assert reply.status_code == 200
    answer: dict[str, Any] = reply.json()
    return answer


def _wait_for(url: str, sessions: int, timeout_s: float) -> tuple[dict[str, Any], float]:
    """/healthz once it reports ``sessions`` sessions, and when it first did."""
    deadline = time.monotonic() + timeout_s
    while True:
        health = _health(url)
        if health["sessions"] == sessions:
            return health, time.monotonic()
        assert time.monotonic() < deadline, health
        time.sleep(0.2)


def _peer(url: str, out: Path) -> subprocess.Popen[bytes]:
    """A peer in its own process, in its call until its stdin is closed (a fixed length would
    make the sessions' overlap depend on how fast this machine sets calls up)."""
    command = [sys.executable, "-m", "rtswap.testing.peer", url, TOKEN, "-", str(out), PEER_SIZE]
    return subprocess.Popen(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def _receiving(peer: subprocess.Popen[bytes], timeout_s: float = 30) -> None:
    """Once ``peer`` says it has been receiving frames for a while."""
    assert peer.stdout is not None
    ready, _, _ = select.select([peer.stdout], [], [], timeout_s)
    assert ready and peer.stdout.readline().strip() == b"receiving"


def test_the_command_says_in_one_line_what_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    """Before the cluster fixture starts one: no cluster to join, and replica bounds that cross."""
    from rtswap.cli import main

    assert main(["serve", "--ray", "auto", "--min-replicas", "3", "--max-replicas", "2"]) == 1
    assert capsys.readouterr().err.strip() == "rtswap: error: --min-replicas 3 is more than --max-replicas 2"
    assert main(["serve", "--ray", "auto"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("rtswap: error: no Ray cluster at auto: start one with 'ray start --head'")


def test_auth_and_bad_input_are_answered_as_on_one_machine(cluster: str) -> None:
    page = requests.get(cluster, timeout=10)
    assert page.status_code == 200 and "RTCPeerConnection" in page.text
    good = {"sdp": "v=0\r\n", "type": "offer"}
    assert requests.post(f"{cluster}/offer", json=good, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    assert requests.post(f"{cluster}/offer", json=good, headers=wrong, timeout=10).status_code == 401
    assert requests.post(f"{cluster}/offer", data=b"{not json", headers=AUTH, timeout=10).status_code == 400
    garbage = {"sdp": "v=0\r\ngarbage", "type": "offer"}
    refused = requests.post(f"{cluster}/offer", json=garbage, headers=AUTH, timeout=30)
    assert refused.status_code == 400 and "cannot use this offer" in refused.json()["error"]
    files = {"image": ("face.png", b"not an image", "image/png")}
    unknown = requests.post(
        f"{cluster}/source", data={"session": "nobody"}, files=files, headers=AUTH, timeout=10
    )
    assert unknown.status_code == 404  # the session is looked up first, as on one machine
    raw = requests.post(f"{cluster}/source", data=b"\x89\xa0 a photo as the body", headers=AUTH, timeout=10)
    assert raw.status_code == 415 and "multipart/form-data" in raw.json()["error"]
    multipart = {**AUTH, "Content-Type": "multipart/form-data; boundary=b"}
    broken = requests.post(
        f"{cluster}/source", data=b"--b\r\nno headers, no end", headers=multipart, timeout=10
    )
    assert broken.status_code == 400 and "unreadable multipart form" in broken.json()["error"]
    huge = b"x" * (17 * 2**20)  # past the 16 MiB both front ends take
    assert requests.post(f"{cluster}/offer", data=huge, headers=AUTH, timeout=30).status_code == 413
    assert requests.post(f"{cluster}/source", data=huge, headers=AUTH, timeout=30).status_code == 413
    assert requests.get(f"{cluster}/healthz", timeout=10).json() == {"sessions": 0}  # no token: counts
    assert _health(cluster)["sessions"] == 0


def test_sessions_spread_and_a_lost_replica_loses_only_its_own(cluster: str, tmp_path: Path) -> None:
    peers = [_peer(cluster, tmp_path / f"peer{k}.npz") for k in range(4)]
    health, _ = _wait_for(cluster, 4, timeout_s=90)
    assert sorted(health["replicas"].values()) == [2, 2]
    for peer in peers:
        _receiving(peer)
    doomed, survivor = sorted(health["replicas"])
    replica = next(
        a
        for a in ray.util.list_named_actors(all_namespaces=True)
        if doomed in a["name"] and "SwapSession" in a["name"]
    )
    killed = time.monotonic()
    ray.kill(ray.get_actor(replica["name"], namespace=replica["namespace"]), no_restart=True)
    health, noticed = _wait_for(cluster, 2, timeout_s=5)
    assert health["replicas"] == {survivor: 2} and noticed - killed < 5
    time.sleep(3)
    newcomer = _peer(cluster, tmp_path / "newcomer.npz")
    health, _ = _wait_for(cluster, 3, timeout_s=30)
    assert doomed not in health["replicas"]  # type: ignore[operator]  # on the survivor, or Serve's replacement
    _receiving(newcomer)
    for process in [*peers, newcomer]:
        process.communicate(timeout=120)  # closes its stdin: the peer hangs up and writes its results
        assert process.returncode == 0
    results = [np.load(tmp_path / f"peer{k}.npz") for k in range(4)]
    stopped = [r for r in results if r["times"][-1] < killed + 1.0]
    kept = [r for r in results if r["times"][-1] >= killed + 1.0]
    assert len(stopped) == 2 and len(kept) == 2
    for result in kept:  # no gap longer than a second while the other replica went
        window = result["times"][(result["times"] > killed - 2) & (result["times"] < killed + 3)]
        assert len(window) > 10 and np.diff(window).max() < 1.0
    for result in [*results, np.load(tmp_path / "newcomer.npz")]:  # swapped frames came back
        diff = np.abs(result["sample"].astype(float) - result["sample_sent"]).mean(axis=3)
        assert np.median(diff[:, 30:90, 125:175].mean(axis=(1, 2))) > 8  # the astronaut's face


def test_the_ingress_refuses_offers_at_capacity() -> None:
    """Over ``--max-sessions`` times ``--max-replicas``: 503, before any replica is asked."""
    import asyncio

    from starlette.requests import Request

    from rtswap.serve.cluster import Ingress

    body = json.dumps({"sdp": "v=0\r\n", "type": "offer"}).encode()

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    headers = [(b"authorization", f"Bearer {TOKEN}".encode()), (b"content-type", b"application/json")]
    scope = {"type": "http", "method": "POST", "path": "/offer", "headers": headers, "query_string": b""}
    ingress = Ingress(None, TOKEN, capacity=0)  # type: ignore[arg-type]  # no replica is asked
    response = asyncio.run(ingress(Request(scope, receive)))
    assert response.status_code == 503 and b"sessions are in use" in response.body


def test_a_sessions_uploads_go_to_its_own_replica(cluster: str, astro: np.ndarray) -> None:
    """With two replicas running, every /source of a session reaches the replica that holds it
    (another replica would answer 404: it does not know the session)."""
    import asyncio
    import io

    from aiortc import RTCConfiguration, RTCPeerConnection
    from PIL import Image

    from rtswap.testing.peer import MarkedFaces, clip

    deadline = time.monotonic() + 90  # after the kill above, Serve brings a second replica back
    while serve.status().applications[APP].deployments["SwapSession"].replica_states.get("RUNNING", 0) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.5)
    buffer = io.BytesIO()
    Image.fromarray(astro).save(buffer, format="PNG")

    def upload(session: str) -> requests.Response:
        files = {"image": ("face.png", buffer.getvalue(), "image/png")}
        return requests.post(
            f"{cluster}/source", data={"session": session}, files=files, headers=AUTH, timeout=60
        )

    async def call() -> tuple[str, list[requests.Response]]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no third party: a peer on this machine
        pc.addTrack(MarkedFaces(clip(320, 240)))
        await pc.setLocalDescription(await pc.createOffer())
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        offered = await asyncio.to_thread(
            requests.post, f"{cluster}/offer", json=body, headers=AUTH, timeout=30
        )
        session = offered.json()["session"]
        try:
            replies = [await asyncio.to_thread(upload, session) for _ in range(6)]
        finally:
            await pc.close()
        return session, replies

    session, replies = asyncio.run(call())
    assert [r.status_code for r in replies] == [200] * 6, [r.text for r in replies]
    assert all(r.json()["session"] == session for r in replies)
