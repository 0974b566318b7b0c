"""The WebRTC sessions of one process: each peer connection gets its own pipeline (fed
newest-frame-wins from the incoming track) and, after an upload, its own source face; the engine
and the starting source are shared. The single-machine server and each replica of the Ray
cluster's ``SwapSession`` deployment hold one :class:`Sessions`."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.base import Identity
from rtswap.errors import InputError, NoFaceError
from rtswap.generate.face_swap import FaceSwap
from rtswap.identity import views
from rtswap.pipeline import Pipeline, PipelineConfig
from rtswap.plugins.masks.mask_model import source_covers
from rtswap.serve import jitter
from rtswap.serve.memory import limit_arenas, release_freed
from rtswap.serve.requests import ApiError, decode_upload
from rtswap.serve.timeouts import DEFAULT, Timeouts
from rtswap.serve.tracks import SwappedTrack, TrackSink, TrackSource

log = logging.getLogger("rtswap")
STATS_INTERVAL_S = 1.0
MAX_SOURCES = 4
"""Sources a session may hold (the page offers four): each upload of a new face index adds one."""


@dataclass
class Session:
    id: str
    pc: RTCPeerConnection
    face_swap: FaceSwap
    """The server's engine, and its own source once one is uploaded."""
    output: SwappedTrack
    pipeline: Pipeline | None = None
    runner: threading.Thread | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    reporter: asyncio.Task[None] | None = None
    watchdog: asyncio.Future[None] | None = None

    def report_to(self, channel: RTCDataChannel) -> None:
        """Send the session's pipeline figures over ``channel`` (the page's "stats") once a second."""
        if self.reporter is None:
            self.reporter = asyncio.ensure_future(self._report(channel))

    async def _report(self, channel: RTCDataChannel) -> None:
        captured, since = 0, time.monotonic()
        while not self.closed.is_set():
            await asyncio.sleep(STATS_INTERVAL_S)
            if self.pipeline is None or channel.readyState != "open":
                continue
            now, count = time.monotonic(), self.pipeline.captured
            channel.send(json.dumps(self.figures(fps_in=(count - captured) / (now - since))))
            captured, since = count, now

    def figures(self, fps_in: float) -> dict[str, object]:
        """What the page shows of the server's side: everything measured inside this process."""
        assert self.pipeline is not None
        stats = self.pipeline.stats
        fps_out, p50, p95 = stats.recent()
        return {
            "fps_in": round(fps_in, 1),
            "fps_out": round(fps_out, 1),
            "latency_p50_ms": None if math.isnan(p50) else round(p50, 1),
            "latency_p95_ms": None if math.isnan(p95) else round(p95, 1),
            "faces": stats.faces,
            "quality": stats.level or "full",
        }

    def start(self, track: MediaStreamTrack, label: bool, latency_budget_ms: float | None) -> None:
        config = PipelineConfig(live=True, label=label, latency_budget_ms=latency_budget_ms)
        self.pipeline = Pipeline(self.face_swap, TrackSource(track), [TrackSink(self.output)], config)
        self.runner = threading.Thread(target=self._run, name=f"rtswap-session-{self.id[:8]}", daemon=True)
        self.runner.start()

    def _run(self) -> None:
        assert self.pipeline is not None
        try:
            self.pipeline.run()
        except Exception as exc:  # the peer sees its video stop; the server carries on
            log.warning("session %s: %s", self.id[:8], exc)

    async def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        if self.reporter is not None:
            self.reporter.cancel()
        if self.watchdog is not None and self.watchdog is not asyncio.current_task():
            self.watchdog.cancel()
        if self.pipeline is not None:
            self.pipeline.stop()
            # a TrackSource closes from any thread: the capture stops waiting for a frame the
            # peer may never send
            self.pipeline.source.close()
        if self.runner is not None:
            await asyncio.to_thread(self.runner.join)
        self.output.stop()
        await self.pc.close()


def ice_server(url: str) -> RTCIceServer:
    """``stun:HOST[:PORT]``, or ``turn:USER:PASSWORD@HOST[:PORT]`` (``turns:`` for TLS)."""
    scheme, _, rest = url.partition(":")
    if scheme not in ("stun", "turn", "turns") or not rest:
        raise InputError(f"--ice-server {url!r}: expected stun:HOST[:PORT] or turn:USER:PASSWORD@HOST[:PORT]")
    if scheme == "stun":
        return RTCIceServer(urls=url)
    credentials, at, where = rest.rpartition("@")
    username, colon, password = credentials.partition(":")
    if not (at and colon and username and where):
        raise InputError(f"--ice-server {url!r}: a TURN server needs turn:USER:PASSWORD@HOST[:PORT]")
    return RTCIceServer(urls=f"{scheme}:{where}", username=username, credential=password)


class Sessions:
    def __init__(
        self,
        face_swap: FaceSwap,
        max_sessions: int = 4,
        label: bool = True,
        latency_budget_ms: float | None = None,
        ice_servers: Sequence[str] = (),
        timeouts: Timeouts = DEFAULT,
    ) -> None:
        """``face_swap``: the engine every session uses and the source it starts with;
        ``latency_budget_ms``: each session's governor (see :class:`PipelineConfig`);
        ``ice_servers``: STUN or TURN servers for peers behind NAT (:func:`ice_server`); none by
        default: host candidates only, and no packet to anyone but the peer; ``timeouts``: when a
        session that does not connect, or sends no video, is ended."""
        self.face_swap, self.max_sessions, self.label = face_swap, max_sessions, label
        self.latency_budget_ms = latency_budget_ms
        self._ice = RTCConfiguration(iceServers=[ice_server(url) for url in ice_servers])
        self.timeouts = timeouts
        self.sessions: dict[str, Session] = {}
        self._prepare_lock = threading.Lock()
        self._decoding = asyncio.Semaphore(2)
        """Uploaded images decoded at once, at most."""
        self._analyzer: FaceAnalyzer | None = None
        jitter.install()  # incoming frames decoded when whole, not a frame interval later
        limit_arenas()  # sessions come and go: freed memory stays where the next ones find it

    async def open(self, description: RTCSessionDescription) -> Session:
        """A new session answering ``description``; ApiError 503 at capacity, 400 for an offer
        that cannot be used."""
        if len(self.sessions) >= self.max_sessions:
            raise ApiError(503, f"all {self.max_sessions} sessions are in use; try again later")
        own = FaceSwap(
            self.face_swap.engine,
            list(self.face_swap.identities),
            keep_occluders=self.face_swap.keep_occluders,
            landmarks=self.face_swap.landmarks,
            shape=self.face_swap.shape,
            restorer=self.face_swap.restorer,
            masks=self.face_swap.masks,
        )
        session = Session(uuid.uuid4().hex, RTCPeerConnection(self._ice), own, SwappedTrack())
        self.sessions[session.id] = session
        session.pc.on("track", lambda track: self._on_track(session, track))
        session.pc.on("datachannel", session.report_to)
        session.pc.on("connectionstatechange", lambda: self._on_state(session))
        try:
            await session.pc.setRemoteDescription(description)
            if session.pipeline is None:
                raise ValueError("the offer has no video track")
            await session.pc.setLocalDescription(await session.pc.createAnswer())
        except Exception as exc:  # aiortc raises several types for bad SDP
            await self.end(session)
            raise ApiError(400, f"cannot use this offer: {exc}") from None
        session.watchdog = asyncio.ensure_future(self._watch(session))
        return session

    async def _watch(self, session: Session) -> None:
        """End ``session`` if it is not connected ``timeouts.connect_s`` after its answer (a peer
        whose addresses cannot be reached), or once its video delivers no frame for
        ``timeouts.frames_s`` (a peer that went quiet): either would hold a slot for ever."""
        await asyncio.sleep(self.timeouts.connect_s)
        if session.pc.connectionState != "connected":
            reason = f"not connected {self.timeouts.connect_s:g} s after its answer"
        else:
            seen = -1
            while session.pipeline is not None and session.pipeline.captured > seen:
                seen = session.pipeline.captured
                await asyncio.sleep(self.timeouts.frames_s)
            reason = f"no video frame for {self.timeouts.frames_s:g} s"
        if session.id in self.sessions:
            log.info("session %s ended: %s", session.id[:8], reason)
            await self.end(session)

    def _on_track(self, session: Session, track: MediaStreamTrack) -> None:
        if track.kind == "video" and session.pipeline is None:
            session.pc.addTrack(session.output)
            session.start(track, self.label, self.latency_budget_ms)

    def _on_state(self, session: Session) -> None:
        if session.pc.connectionState in ("failed", "closed"):
            asyncio.ensure_future(self.end(session))

    async def end(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        await session.close()
        await asyncio.to_thread(release_freed)  # what its threads freed (rtswap.serve.memory)

    async def set_source(self, session_id: str, data: bytes, face: int) -> dict[str, object]:
        """Session ``session_id`` swaps the face in image ``data`` (as uploaded) from the next
        frame: on every face (``face`` 0) or on the N-th from the left. ApiError 404, 413, 422 or
        400 if it cannot. The session is looked up before anything is decoded, and images are
        decoded off the event loop, a few at a time, so an upload never stalls the sessions."""
        session = self.sessions.get(session_id)
        if session is None:
            raise ApiError(404, f"unknown session {session_id!r} (the 'session' from /offer's answer)")
        if face > len(session.face_swap.identities) >= MAX_SOURCES:
            raise ApiError(400, f"a session has at most {MAX_SOURCES} sources: 'face' 0 to {MAX_SOURCES}")
        async with self._decoding:
            image = await asyncio.to_thread(decode_upload, data)
        try:
            identity = await asyncio.to_thread(self._prepare, image)
        except NoFaceError:
            raise ApiError(422, "no face found in the uploaded image") from None
        try:  # the next frame swaps the new face
            if face == 0:
                session.face_swap.use(identity)
            else:
                session.face_swap.set_source(face - 1, identity)
        except InputError as exc:
            raise ApiError(400, str(exc)) from None
        return {"session": session.id, "views": identity.views, "sources": len(session.face_swap.identities)}

    def _prepare(self, image: np.ndarray) -> Identity:
        with self._prepare_lock:  # one face analyzer, not thread-safe, shared by uploads
            if self._analyzer is None:
                self._analyzer = FaceAnalyzer(
                    landmarks=self.face_swap.landmarks, device=self.face_swap.device
                )
            covers = source_covers(self.face_swap.masks) if self.face_swap.masks else []
            return views.prepare_image(image, self._analyzer, self.face_swap.engine, covers)

    async def close(self) -> None:
        """End every session."""
        await asyncio.gather(*(self.end(s) for s in list(self.sessions.values())))
        if self._analyzer is not None:
            self._analyzer.close()
