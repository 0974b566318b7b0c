"""``rtswap serve``: a page that sends its camera over WebRTC and plays the swapped video back.

One process: the HTTP API in aiohttp, the sessions (:mod:`rtswap.serve.sessions`) beside it.
``rtswap serve --ray`` serves the same page and API from a Ray cluster (:mod:`rtswap.serve.cluster`).
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from rtswap.errors import InputError
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
from rtswap.serve.sessions import Session, Sessions

PAGE = Path(__file__).with_name("page.html")


class Server:
    def __init__(self, core: Sessions, token: str) -> None:
        """``core``: the sessions this front end serves; ``token``: what clients must send."""
        self.token, self.core = token, core

    @property
    def sessions(self) -> dict[str, Session]:
        return self.core.sessions

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY, middlewares=[_api_errors])
        app.router.add_get("/", self.page)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_post("/offer", self.offer)
        app.router.add_post("/source", self.source)
        app.on_shutdown.append(self.shutdown)
        return app

    async def page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(), content_type="text/html")

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"sessions": len(self.core.sessions)})

    async def offer(self, request: web.Request) -> web.Response:
        check_token(request.headers.get("Authorization", ""), self.token)
        try:
            params = await request.json()
        except ValueError as exc:
            raise ApiError(400, f"body must be JSON {{'sdp': ..., 'type': 'offer'}} ({exc})") from None
        session = await self.core.open(offer_of(params))
        answer = session.pc.localDescription
        return web.json_response({"sdp": answer.sdp, "type": answer.type, "session": session.id})

    async def source(self, request: web.Request) -> web.Response:
        check_token(request.headers.get("Authorization", ""), self.token)
        check_form(request.headers.get("Content-Type", ""))
        try:
            form = await request.post()
        except (ValueError, HttpProcessingError) as exc:
            raise ApiError(400, f"unreadable multipart form ({exc})") from None
        upload = form.get("image")
        data = (
            upload.file.read()
            if isinstance(upload, web.FileField)
            else None
            if upload is None
            else str(upload).encode()
        )
        session_id, image, face = source_of(form.get("session"), data, form.get("face"))
        return web.json_response(await self.core.set_source(session_id, image, face))

    async def shutdown(self, app: web.Application) -> None:
        await self.core.close()


@web.middleware
async def _api_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as error:
        return error_response(error)
    except web.HTTPRequestEntityTooLarge:  # aiohttp's own, past client_max_size: plain text
        return error_response(too_large())


def error_response(error: ApiError) -> web.Response:
    return web.json_response({"error": error.message}, status=error.status)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``, made before anything slow is prepared; one line
    if it cannot be (the port taken, an address not this machine's)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        # (create_server's message repeats the address; a failed name lookup's errno is negative)
        why = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else "no such address"
        raise InputError(f"--host {host} --port {port}: cannot listen there ({why})") from None


def run(core: Sessions, listening: socket.socket, host: str, token: str) -> None:
    """Serve on ``listening`` (:func:`listen` on ``host``) until SIGTERM or Ctrl-C. The address is
    printed once the socket listens, so whoever reads it (a person, a script) can connect at once."""
    server = Server(core, token)
    port = listening.getsockname()[1]
    print(f"rtswap serve: open {page_url(host, port, token)}", flush=True)
    # on SIGTERM or Ctrl-C: wait at most 1 s for open HTTP connections (a page keeps one alive),
    # then close every session
    web.run_app(server.app(), sock=listening, print=None, shutdown_timeout=1.0)
