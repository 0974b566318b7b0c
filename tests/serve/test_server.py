"""rtswap serve over loopback: real aiortc peers, the real server and pipeline.

The latency test runs its peer as a separate process, as a real client is: in one process the
peer's codecs and the server's pipeline would share a GIL, which a deployment does not."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

pytest.importorskip("aiortc")
import av  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402
from aiortc import (  # noqa: E402
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead  # noqa: E402
from rtswap.cli.serve import add_parser, token_of  # noqa: E402
from rtswap.errors import InputError  # noqa: E402
from rtswap.serve.app import Server  # noqa: E402
from rtswap.serve.requests import ApiError, check_token, page_url  # noqa: E402
from rtswap.serve.sessions import Sessions, ice_server  # noqa: E402
from rtswap.serve.timeouts import DEFAULT, Timeouts  # noqa: E402
from rtswap.swapper import Swapper  # noqa: E402
from rtswap.testing.peer import BLOCK, MarkedFaces  # noqa: E402
from tests.conftest import SERVER_TOKEN as TOKEN  # noqa: E402
from tests.conftest import png_header  # noqa: E402

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def clip_frames(head: SyntheticHead) -> list[np.ndarray]:
    return list(SyntheticClip(width=640, height=480, fps=30, seconds=2, head=head))


def serve(
    swapper: Swapper,
    scenario: Callable[[TestClient, Server], Awaitable[Any]],
    max_sessions: int = 4,
    timeouts: Timeouts = DEFAULT,
) -> Any:
    async def main() -> Any:
        server = Server(Sessions(swapper.face_swap, max_sessions, timeouts=timeouts), TOKEN)
        client = TestClient(TestServer(server.app()))
        await client.start_server()
        try:
            return await scenario(client, server)
        finally:
            await client.close()

    return asyncio.run(main())


async def connect(
    client: TestClient,
    track: VideoStreamTrack,
    on_frame: Callable[[av.VideoFrame], None],
    on_stats: Callable[[dict[str, Any]], None] | None = None,
) -> RTCPeerConnection:
    """A peer that sends ``track`` and hands each frame back to ``on_frame``; with ``on_stats``,
    it opens the page's "stats" data channel and hands each message to it."""
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no third party: a peer on this machine
    pc.addTrack(track)
    if on_stats is not None:
        channel = pc.createDataChannel("stats")
        channel.on("message", lambda message: on_stats(json.loads(message)))

    @pc.on("track")
    def receive(incoming: MediaStreamTrack) -> None:
        async def drain() -> None:
            while True:
                try:
                    on_frame(cast(av.VideoFrame, await incoming.recv()))
                except Exception:
                    return

        asyncio.ensure_future(drain())

    await pc.setLocalDescription(await pc.createOffer())
    reply = await client.post("/offer", json={"sdp": pc.localDescription.sdp, "type": "offer"}, headers=AUTH)
    assert reply.status == 200, await reply.text()
    answer = await reply.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    return pc


def test_loopback_peer_gets_swapped_frames_back_in_order(server_url: str, tmp_path: Path) -> None:
    """Frames come back, swapped, newest first: never an older frame after a newer one, never
    one twice. How fast is the benchmark's question (README), not the test's: a slower machine
    must pass."""
    out = tmp_path / "peer.npz"
    command = [sys.executable, "-m", "rtswap.testing.peer", server_url, TOKEN, "6", str(out)]
    subprocess.run(command, check=True, timeout=120, cwd=Path(__file__).parent.parent.parent)
    result = np.load(out)
    times, latency_ms, numbers = result["times"], result["latency_ms"], result["numbers"]
    fps = (len(times) - 1) / (times[-1] - times[0])
    marked = ~np.isnan(latency_ms)
    print(f"loopback: {fps:.1f} fps, round trip p50 {np.median(latency_ms[marked]):.0f} ms")
    assert marked.sum() >= 20 and marked.mean() > 0.8  # frames came back; their marks survived
    assert np.all(np.diff(numbers[marked]) > 0)  # in order, none repeated or stale
    diff = np.abs(result["sample"].astype(float) - result["sample_sent"]).mean(axis=3)
    inside = diff[:, 60:180, 250:350].mean(axis=(1, 2))  # the astronaut's face
    outside = np.concatenate([diff[:, BLOCK + 8 : 400, :120], diff[:, BLOCK + 8 : 400, 560:]], axis=2)
    assert np.median(inside) > 7 and np.median(outside.mean(axis=(1, 2))) < 4  # inside: 10.3 measured


def _post_offer(client: TestClient, body: Any, headers: dict[str, str] | None = None) -> Awaitable[Any]:
    return client.post("/offer", json=body, headers=headers if headers is not None else AUTH)


def test_auth_and_bad_offers_are_refused(grace_swapper: Swapper) -> None:
    async def scenario(client: TestClient, server: Server) -> list[int]:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no third party: a peer on this machine
        pc.addTransceiver("video")
        await pc.setLocalDescription(await pc.createOffer())
        good = {"sdp": pc.localDescription.sdp, "type": "offer"}
        statuses = [
            (await _post_offer(client, good, {})).status,
            (await _post_offer(client, good, {"Authorization": "Bearer wrong"})).status,
            (await _post_offer(client, {"sdp": "v=0\r\ngarbage", "type": "offer"})).status,
            (await client.post("/offer", data=b"{not json", headers=AUTH)).status,
        ]
        first = await _post_offer(client, good)
        statuses.append(first.status)
        statuses.append((await _post_offer(client, good)).status)  # over --max-sessions 1
        health = await (await client.get("/healthz")).json()
        await pc.close()
        return [*statuses, health["sessions"]]

    assert serve(grace_swapper, scenario, max_sessions=1) == [401, 401, 400, 400, 200, 503, 1]


def test_a_source_that_is_not_a_form_is_refused_not_an_error(grace_swapper: Swapper) -> None:
    async def scenario(client: TestClient, server: Server) -> list[tuple[int, str]]:
        raw = b"\x89\xa0 a photo sent as the body"
        multipart = {**AUTH, "Content-Type": "multipart/form-data; boundary=b"}
        replies = [
            await client.post("/source", data=raw, headers=AUTH),  # curl --data-binary: form-urlencoded
            await client.post("/source", data=raw, headers={**AUTH, "Content-Type": "image/png"}),
            await client.post("/source", data=b"--b\r\nno headers, no end", headers=multipart),
        ]
        return [(reply.status, (await reply.json())["error"]) for reply in replies]

    (urlencoded, png, broken) = serve(grace_swapper, scenario)
    assert urlencoded[0] == png[0] == 415 and "multipart/form-data" in urlencoded[1]
    assert broken[0] == 400 and "unreadable multipart form" in broken[1]


def test_connect_disconnect_cycles_free_everything(
    grace_swapper: Swapper, clip_frames: list[np.ndarray]
) -> None:
    async def cycle(client: TestClient, server: Server) -> None:
        pc = await connect(client, MarkedFaces(clip_frames), lambda f: None)
        await asyncio.sleep(0.3)
        await pc.close()
        for _ in range(50):  # the server notices the peer is gone
            if not server.sessions:
                return
            await asyncio.sleep(0.1)

    def threads() -> list[str]:
        """Threads that belong to sessions (thread pools, which keep idle workers, left out)."""
        return sorted(
            t.name for t in threading.enumerate() if not t.name.startswith(("asyncio_", "ThreadPool"))
        )

    async def scenario(client: TestClient, server: Server) -> tuple[list[str], list[str], int]:
        before = threads()
        for _ in range(10):
            await cycle(client, server)
        health = await (await client.get("/healthz")).json()
        for _ in range(50):  # a session leaves the list, then its pipeline's threads end (joined)
            if threads() == before:
                break
            await asyncio.sleep(0.1)
        return before, threads(), health["sessions"]

    before, after, sessions = serve(grace_swapper, scenario)
    assert sessions == 0
    assert after == before  # every session's pipeline threads are gone, nothing piles up


def test_a_session_can_change_its_source_face(
    grace_swapper: Swapper, clip_frames: list[np.ndarray], astro: np.ndarray
) -> None:
    import io

    from aiohttp import FormData
    from PIL import Image

    def form(session: str, image: np.ndarray, face: int = 0) -> FormData:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        return encoded(session, buffer.getvalue(), face)

    def encoded(session: str, image: bytes, face: int = 0) -> FormData:
        data = FormData()
        data.add_field("session", session)
        data.add_field("face", str(face))
        data.add_field("image", image, filename="face.png", content_type="image/png")
        return data

    async def scenario(client: TestClient, server: Server) -> tuple[int, int, int, int, str, bool]:
        pc = await connect(client, MarkedFaces(clip_frames), lambda f: None)
        session = next(iter(server.sessions.values()))
        before = session.face_swap.identities[0]
        blank = np.full((200, 200, 3), 120, np.uint8)
        no_face = await client.post("/source", data=form(session.id, blank), headers=AUTH)
        no_auth = await client.post("/source", data=form(session.id, astro))
        unknown = await client.post("/source", data=form("nobody", astro), headers=AUTH)
        changed = await client.post("/source", data=form(session.id, astro), headers=AUTH)
        replaced = (
            session.face_swap.identities[0] is not before and server.core.face_swap.identities[0] is before
        )
        huge = await client.post("/source", data=encoded(session.id, png_header(13000, 13000)), headers=AUTH)
        bad = await client.post("/source", data=encoded(session.id, b"not an image"), headers=AUTH)
        ghost = await client.post("/source", data=encoded("nobody", png_header(30000, 30000)), headers=AUTH)
        assert (huge.status, bad.status, ghost.status) == (413, 400, 404)
        assert "13000x13000 is larger than rtswap reads" in (await huge.json())["error"]
        past = await client.post("/source", data=encoded(session.id, bytes(17 * 2**20)), headers=AUTH)
        assert past.status == 413  # aiohttp's own limit, answered in JSON like the rest (the page reads it)
        assert (await past.json())["error"] == "request body over 16 MiB"
        second = await client.post("/source", data=form(session.id, astro, face=2), headers=AUTH)
        too_far = await client.post("/source", data=form(session.id, astro, face=5), headers=AUTH)
        replaced = (
            replaced and (await second.json())["sources"] == 2 and len(session.face_swap.identities) == 2
        )
        for face in (3, 4):
            added = await client.post("/source", data=form(session.id, astro, face=face), headers=AUTH)
            assert added.status == 200
        fifth = await client.post("/source", data=form(session.id, astro, face=5), headers=AUTH)
        assert fifth.status == 400 and "at most 4 sources" in (await fifth.json())["error"]
        await pc.close()
        message = (await unknown.json())["error"]
        assert "sources are numbered 1 to 3" in (await too_far.json())["error"]
        return no_face.status, no_auth.status, unknown.status, changed.status, message, replaced

    no_face, no_auth, unknown, changed, message, replaced = serve(grace_swapper, scenario)
    assert (no_face, no_auth, unknown, changed) == (422, 401, 404, 200)
    assert message.startswith("unknown session 'nobody'")
    assert replaced  # and other sessions keep theirs


def test_the_server_reports_its_pipeline_figures_over_the_stats_channel(
    grace_swapper: Swapper, clip_frames: list[np.ndarray]
) -> None:
    async def scenario(client: TestClient, server: Server) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        pc = await connect(client, MarkedFaces(clip_frames), lambda f: None, messages.append)
        for _ in range(150):
            if len(messages) >= 3:
                break
            await asyncio.sleep(0.1)
        await pc.close()
        return messages

    messages = serve(grace_swapper, scenario)
    assert len(messages) >= 3  # once a second
    last = messages[-1]
    assert set(last) == {"fps_in", "fps_out", "latency_p50_ms", "latency_p95_ms", "faces", "quality"}
    assert last["fps_in"] > 0 and last["fps_out"] > 0 and last["faces"] == 1
    assert 0 < last["latency_p50_ms"] <= last["latency_p95_ms"] and last["quality"]


def test_sessions_ask_no_third_party_for_addresses(
    grace_swapper: Swapper, clip_frames: list[np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiortc's default configuration sends every session's first packets to a public STUN server
    (a DNS lookup, the server's address disclosed, a stall where there is no network); sessions
    gather host candidates only unless --ice-server names one."""
    asked: list[str] = []
    real = socket.gethostbyname

    def recorded(host: str) -> str:
        asked.append(host)
        return real(host)

    monkeypatch.setattr(socket, "gethostbyname", recorded)  # how aioice finds a STUN server

    async def scenario(client: TestClient, server: Server) -> None:
        pc = await connect(client, MarkedFaces(clip_frames), lambda f: None)
        await pc.close()

    serve(grace_swapper, scenario)
    assert not [host for host in asked if "stun" in str(host)]


def test_ice_servers_are_stun_or_turn_with_credentials() -> None:
    assert ice_server("stun:stun.example.org:3478").urls == "stun:stun.example.org:3478"
    turn = ice_server("turn:ann:s3cret@turn.example.org:3478")
    assert (turn.urls, turn.username, turn.credential) == ("turn:turn.example.org:3478", "ann", "s3cret")
    for bad in ("http://example.org", "turn:turn.example.org", "stun:"):
        with pytest.raises(InputError, match="--ice-server"):
            ice_server(bad)


def test_tokens_never_crash_the_server_nor_show_where_they_need_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ApiError) as refused:
        check_token("Bearer \udcff\udcfe", "t")  # bytes that are not UTF-8, as a header can carry
    assert refused.value.status == 401
    assert page_url("127.0.0.1", 8080, "a+b/c d") == "http://127.0.0.1:8080/#token=a%2Bb%2Fc%20d"
    assert page_url("::1", 8080, "t") == "http://[::1]:8080/#token=t"
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"), [])
    (tmp_path / "token").write_text("from-file\n")
    monkeypatch.setenv("RTSWAP_TOKEN", "from-env")
    assert token_of(parser.parse_args(["serve", "--token-file", str(tmp_path / "token")])) == "from-file"
    assert token_of(parser.parse_args(["serve"])) == "from-env"
    monkeypatch.delenv("RTSWAP_TOKEN")
    assert token_of(parser.parse_args(["serve"])) is None  # a new random one


class Silent(VideoStreamTrack):
    """A camera that never delivers a frame."""

    async def recv(self) -> av.VideoFrame:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_sessions_that_never_connect_or_go_quiet_are_ended(
    grace_swapper: Swapper, clip_frames: list[np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    """An offer whose peer never completes the connection, and a peer that connects but sends no
    frame, each hold a slot (and a pipeline) only until their timeout; a peer that sends video
    keeps its own."""

    async def scenario(client: TestClient, server: Server) -> tuple[int, int]:
        never = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        never.addTrack(Silent())
        await never.setLocalDescription(await never.createOffer())
        body = {"sdp": never.localDescription.sdp, "type": "offer"}
        assert (await client.post("/offer", json=body, headers=AUTH)).status == 200  # answer never used
        quiet = await connect(client, Silent(), lambda frame: None)
        talking = await connect(client, MarkedFaces(clip_frames * 10), lambda frame: None)
        at_first = len(server.sessions)
        await asyncio.sleep(4.0)
        left = len(server.sessions)
        pipelines = [t.name for t in threading.enumerate() if t.name.startswith("rtswap-session-")]
        assert len(pipelines) == 1  # the ended sessions' pipelines are gone, not waiting for a frame
        for pc in (never, quiet, talking):
            await pc.close()
        return at_first, left

    with caplog.at_level("INFO", logger="rtswap"):
        assert serve(grace_swapper, scenario, timeouts=Timeouts(connect_s=1.5, frames_s=1.0)) == (3, 1)
    reasons = [r.getMessage() for r in caplog.records if "ended:" in r.getMessage()]
    assert any("not connected 1.5 s after its answer" in r for r in reasons)
    assert any("no video frame for 1 s" in r for r in reasons)


def test_a_port_in_use_is_one_line_before_the_source_is_prepared(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address is taken before the (slow) source preparation, and a port that another program
    holds is said in one line (a traceback, after preparing, before)."""
    from rtswap.cli import main
    from rtswap.swapper import Swapper

    def prepared(*args: object, **kwargs: object) -> None:
        raise AssertionError("the source was prepared before the port was taken")

    monkeypatch.setattr(Swapper, "__init__", prepared)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port), "--token", "t"]) == 1
    said = capsys.readouterr().err.strip().splitlines()
    assert said == [
        f"rtswap: error: --host 127.0.0.1 --port {port}: cannot listen there (Address already in use)"
    ]
