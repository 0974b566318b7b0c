"""``rtswap serve --ray``: the same page and API as ``rtswap serve``, from a Ray cluster, on Ray
Serve.

Two deployments:

- ``SwapSession``: each replica holds up to ``--max-sessions`` sessions
  (:class:`~rtswap.serve.sessions.Sessions`: one pipeline each, sharing the replica's engine and
  GPU). The browser's media goes to and from the replica's node directly: the answer's ICE
  candidates are that node's addresses.
- ``Ingress``: the HTTP API (``/``, ``/offer``, ``/source``, ``/healthz``, the bearer token),
  behind Serve's HTTP proxy. It checks requests as the single-machine server does
  (:mod:`rtswap.serve.requests`) and hands them to the sessions' replicas.

A session is one long request to its replica: ``SwapSession.open`` streams the answer, then
stays open as long as the session lives. So Serve itself counts a replica's sessions as its
ongoing requests: its autoscaler targets sessions per replica, and when a replica dies
the requests of its sessions fail at once, which is how the ingress learns that they are lost
(no other session notices). The ingress places a new session on the replica with the fewest
sessions by its own count, which the router (:class:`SessionRouter`) reads from the request:
Serve's own choice, by the queue lengths it probes the replicas for and caches, was not reliable
on a busy machine (four sessions placed 1 and 3, one offer at a time). A session's
later requests (``/source``) name its replica, and the router sends them there.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import ray
from ray import serve
from ray.serve.config import AutoscalingConfig, RequestRouterConfig
from ray.serve.handle import DeploymentHandle, DeploymentResponseGenerator
from ray.serve.request_router import PendingRequest, RequestRouter, RunningReplica
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from rtswap.config import SwapConfig
from rtswap.errors import OutputError
from rtswap.serve.requests import (
    MAX_BODY,
    ApiError,
    check_form,
    check_token,
    offer_of,
    page_url,
    source_of,
    too_large,
)
from rtswap.serve.timeouts import Timeouts

log = logging.getLogger("rtswap")
APP = "rtswap"
SOURCE_TIMEOUT_S = 30.0
"""A source upload is prepared on the session's replica (a face analysis): this long at most."""


async def _read_limited(request: Request) -> None:
    """Read a request's body, refusing it (413) once past :data:`MAX_BODY`, before reading more;
    Starlette's ``json()`` and ``form()`` then parse what was read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise too_large()
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise too_large()
    request._body = bytes(body)  # what Starlette's json() and form() read


class SessionRouter(RequestRouter):
    """A request that names a replica (``replica=`` its id) goes there; a new session
    (``placed=`` the ingress's sessions per replica id) goes to a replica with the fewest, or if
    those are full, the next fewest."""

    async def choose_replicas(
        self, candidate_replicas: list[RunningReplica], pending_request: PendingRequest | None = None
    ) -> list[list[RunningReplica]]:
        kwargs = pending_request.kwargs if pending_request is not None else {}
        if "replica" in kwargs:
            return [[r for r in candidate_replicas if r.replica_id.unique_id == kwargs["replica"]]]
        placed: dict[str, int] = kwargs.get("placed", {})
        ranks: dict[int, list[RunningReplica]] = {}
        for replica in candidate_replicas:
            ranks.setdefault(placed.get(replica.replica_id.unique_id, 0), []).append(replica)
        return [ranks[sessions] for sessions in sorted(ranks)]


@dataclass(frozen=True)
class ClusterConfig:
    max_sessions: int = 4
    """Sessions per replica."""
    min_replicas: int = 1
    max_replicas: int = 4
    target_sessions: float = 2.0
    """Autoscaling keeps about this many sessions per replica."""
    gpus_per_replica: float = 0.0
    label: bool = True
    latency_budget_ms: float | None = None
    ice_servers: tuple[str, ...] = ()
    """STUN or TURN servers (see :func:`~rtswap.serve.sessions.ice_server`); none by default."""
    timeouts: Timeouts = Timeouts()


class SwapSession:
    """A replica: a Swapper (engine and starting source) and the sessions placed on it."""

    def __init__(self, source: np.ndarray, swap: SwapConfig, config: ClusterConfig) -> None:
        """``source``: the starting source face (HxWx3 uint8 RGB: the replica may run on another
        machine, so it gets the image, not a path); ``swap``: the engine and how faces are swapped
        (its device resolved on the replica)."""
        from rtswap.serve.sessions import Sessions
        from rtswap.swapper import Swapper

        self._swapper = Swapper(source, swap, progress=False)
        face_swap = self._swapper.face_swap
        self.sessions = Sessions(
            face_swap,
            config.max_sessions,
            config.label,
            config.latency_budget_ms,
            config.ice_servers,
            config.timeouts,
        )
        self.where = {
            "replica": serve.get_replica_context().replica_id.unique_id,
            "node": ray.util.get_node_ip_address(),
        }

    async def open(self, offer: dict[str, Any], placed: dict[str, int]) -> AsyncIterator[dict[str, Any]]:
        """Answers ``offer`` (or says why not: ``{"status", "error"}``), then stays open while the
        session lives. ``placed`` is for the router (:class:`SessionRouter`)."""
        try:
            session = await self.sessions.open(offer_of(offer))
        except ApiError as error:
            yield {"status": error.status, "error": error.message}
            return
        answer = session.pc.localDescription
        try:
            yield {"sdp": answer.sdp, "type": answer.type, "session": session.id, **self.where}
            await session.closed.wait()
            yield {"ended": session.id}
        finally:  # also when the request is cancelled (the ingress went): no session runs untracked
            await self.sessions.end(session)

    async def source(self, replica: str, session: str, image: Any, face: int) -> dict[str, Any]:
        """``replica``: this replica's id (the router sends the request here by it)."""
        try:
            return await self.sessions.set_source(session, image, face)
        except ApiError as error:
            return {"status": error.status, "error": error.message}


@dataclass
class _Placed:
    replica: str
    node: str


class Ingress:
    def __init__(self, sessions: DeploymentHandle, token: str, capacity: int) -> None:
        """``capacity``: sessions at most, over the largest number of replicas."""
        from rtswap.serve.app import PAGE

        self.handle, self.token, self.capacity = sessions, token, capacity
        self.page = PAGE.read_text()
        self.placed: dict[str, _Placed] = {}
        self._watchers: set[asyncio.Task[None]] = set()
        self._placing = asyncio.Lock()

    async def __call__(self, request: Request) -> Response:
        route = (request.method, request.url.path)
        try:
            if route == ("GET", "/"):
                return HTMLResponse(self.page)
            if route == ("GET", "/healthz"):
                return JSONResponse(self.health(request.headers.get("Authorization", "")))
            if route == ("POST", "/offer"):
                await _read_limited(request)
                return JSONResponse(await self.offer(request))
            if route == ("POST", "/source"):
                await _read_limited(request)
                return JSONResponse(await self.source(request))
        except ApiError as error:
            return JSONResponse({"error": error.message}, status_code=error.status)
        return JSONResponse({"error": f"no {request.method} {request.url.path}"}, status_code=404)

    def health(self, authorization: str) -> dict[str, Any]:
        """Sessions in all; with the token, also per replica (by Serve's replica id) and per node
        (by its address), which are no one else's business."""
        try:
            check_token(authorization, self.token)
        except ApiError:
            return {"sessions": len(self.placed)}
        return {
            "sessions": len(self.placed),
            "replicas": self._per_replica(),
            "nodes": dict(Counter(p.node for p in self.placed.values())),
        }

    def _per_replica(self) -> dict[str, int]:
        return dict(Counter(p.replica for p in self.placed.values()))

    async def offer(self, request: Request) -> dict[str, Any]:
        check_token(request.headers.get("Authorization", ""), self.token)
        try:
            params = await request.json()
        except ValueError as exc:
            raise ApiError(400, f"body must be JSON {{'sdp': ..., 'type': 'offer'}} ({exc})") from None
        offer_of(params)  # a bad offer is refused here, before a replica is involved
        if len(self.placed) >= self.capacity:
            raise ApiError(503, f"all {self.capacity} sessions are in use; try again later")
        async with self._placing:  # one at a time, so each placement sees the sessions placed before it
            call = self.handle.options(stream=True).open.remote(params, placed=self._per_replica())
            stream = cast(DeploymentResponseGenerator, call)
            first = await stream.__anext__()
        if "error" in first:
            raise ApiError(first["status"], first["error"])
        self.placed[first["session"]] = _Placed(first["replica"], first["node"])
        watcher = asyncio.ensure_future(self._watch(first["session"], stream))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return {key: first[key] for key in ("sdp", "type", "session")}

    async def _watch(self, session: str, stream: DeploymentResponseGenerator) -> None:
        """Until the session ends, or its replica is lost with it."""
        try:
            async for _ in stream:
                pass
        except Exception as exc:  # the replica died: Ray says so in one of several exception types
            log.warning("session %s lost with its replica: %s", session[:8], str(exc).splitlines()[0])
        self.placed.pop(session, None)

    async def source(self, request: Request) -> dict[str, Any]:
        check_token(request.headers.get("Authorization", ""), self.token)
        check_form(request.headers.get("Content-Type", ""))
        try:
            form = await request.form()
        except MultiPartException as exc:
            raise ApiError(400, f"unreadable multipart form ({exc.message})") from None
        upload = form.get("image")
        data = (
            await upload.read()
            if isinstance(upload, UploadFile)
            else None
            if upload is None
            else upload.encode()
        )
        session, image, face = source_of(
            form.get("session"), data, form.get("face")
        )  # decoded on the replica
        placed = self.placed.get(session)
        if placed is None:
            raise ApiError(404, f"unknown session {session!r} (the 'session' from /offer's answer)")
        call = self.handle.source.remote(replica=placed.replica, session=session, image=image, face=face)
        try:
            # Ray's DeploymentResponse is awaitable but not typed as one
            reply: dict[str, Any] = await asyncio.wait_for(call, SOURCE_TIMEOUT_S)  # type: ignore[arg-type]  # see above
        except Exception:  # the replica went while we waited
            raise ApiError(410, "session lost with its replica; reconnect") from None
        if "error" in reply:
            raise ApiError(reply["status"], reply["error"])
        return reply


def application(source: np.ndarray, swap: SwapConfig, config: ClusterConfig, token: str) -> serve.Application:
    """The two deployments, bound: ``serve.run(application(...))`` starts them."""
    sessions = serve.deployment(
        name="SwapSession",
        ray_actor_options={"num_gpus": config.gpus_per_replica},
        max_ongoing_requests=config.max_sessions + 8,  # the sessions, and their uploads
        autoscaling_config=AutoscalingConfig(
            min_replicas=config.min_replicas,
            max_replicas=config.max_replicas,
            initial_replicas=config.min_replicas,
            target_ongoing_requests=config.target_sessions,
        ),
        request_router_config=RequestRouterConfig(
            request_router_class=f"{__name__}:SessionRouter"  # type: ignore[arg-type]  # Ray types **kwargs as dicts
        ),
    )(SwapSession)
    ingress = serve.deployment(name="Ingress", num_replicas=1)(Ingress)
    return ingress.bind(sessions.bind(source, swap, config), token, config.max_sessions * config.max_replicas)


def run(
    address: str,
    source: np.ndarray,
    swap: SwapConfig,
    config: ClusterConfig,
    host: str,
    port: int,
    token: str,
) -> None:
    """Serve until interrupted from the Ray cluster at ``address``: ``auto``, the one this machine
    has joined (``ray start``); ``local``, a single-machine Ray started for this process and
    stopped with it; or a cluster's address."""
    try:
        ray.init(address=None if address == "local" else address, include_dashboard=address != "local")
    except ConnectionError as exc:
        raise OutputError(
            f"no Ray cluster at {address}: start one with 'ray start --head', or use --ray local ({exc})"
        ) from None
    try:
        serve.start(http_options={"host": host, "port": port})
        serve.run(application(source, swap, config, token), name=APP, route_prefix="/")
        print(f"rtswap serve --ray: open {page_url(host, port, token)}", flush=True)
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        serve.shutdown()
    finally:
        if address == "local":
            ray.shutdown()
