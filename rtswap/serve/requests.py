"""What every front end of ``rtswap serve`` checks in a request, with the same status codes and
messages: the single-machine aiohttp server and the Ray cluster's ingress."""

from __future__ import annotations

import hmac
from urllib.parse import quote

import numpy as np
from aiortc import RTCSessionDescription

from rtswap.errors import InputError, TooLargeError
from rtswap.media.image import decode_image

MAX_BODY = 16 * 2**20
"""Bytes a request body may have (an offer's SDP, an uploaded image): more is refused, 413,
before it is read."""


class ApiError(Exception):
    """A request that is refused: its HTTP status and a one-line message for the JSON body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def too_large() -> ApiError:
    """A body past :data:`MAX_BODY` (a new error each time: a raised one keeps its frames)."""
    return ApiError(413, f"request body over {MAX_BODY // 2**20} MiB")


def check_token(header: str, token: str) -> None:
    """``header``: the request's Authorization header (bytes that are not UTF-8 are a wrong token,
    not a server error)."""
    given = header[7:].encode("utf-8", "surrogateescape")
    if not (header.startswith("Bearer ") and hmac.compare_digest(given, token.encode())):
        raise ApiError(401, "missing or wrong token (Authorization: Bearer <token>)")


def page_url(host: str, port: int, token: str) -> str:
    """The address to open: the page, with the token in the fragment (never sent to a server,
    and the page removes it from the address bar), URL-encoded; an IPv6 address in brackets."""
    where = f"[{host}]" if ":" in host else host
    return f"http://{where}:{port}/#token={quote(token, safe='')}"


def offer_of(params: object) -> RTCSessionDescription:
    """The offer in ``/offer``'s parsed JSON body."""
    try:
        assert isinstance(params, dict), "not an object"
        description = RTCSessionDescription(sdp=str(params["sdp"]), type=params["type"])
        if description.type != "offer":
            raise ValueError(f"type must be 'offer', got {description.type!r}")
    except (AssertionError, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, f"body must be JSON {{'sdp': ..., 'type': 'offer'}} ({exc})") from None
    return description


def check_form(content_type: str) -> None:
    """``/source`` takes a multipart form (``content_type``: the request's header): any other body
    is refused before it is parsed (a raw image sent as the body, as ``curl --data-binary`` sends
    it, failed in the form parser)."""
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        raise ApiError(415, "send the face as a multipart/form-data form: 'session', 'image', 'face'")


def source_of(session: object, image: bytes | bytearray | None, face: object) -> tuple[str, bytes, int]:
    """``/source``'s multipart fields -> (session id, the image as sent, face: 0 for every face, N
    for the N-th from the left). The image is decoded by :func:`decode_upload` once the session is
    known."""
    if session is None or image is None:
        missing = "'session'" if session is None else "'image'"
        raise ApiError(400, f"multipart form needs 'session' (from /offer's answer) and 'image' ({missing})")
    try:
        number = int(str(face if face is not None else 0))
    except ValueError:
        raise ApiError(
            400, "'face' must be a number: 0 for every face, N for the N-th from the left"
        ) from None
    return str(session), bytes(image), number


def decode_upload(data: bytes) -> np.ndarray:
    """An uploaded image as HxWx3 uint8 RGB, read as the CLI reads files: 413 past the size
    rtswap reads (checked from the header, before decoding), 400 if it is not an image."""
    try:
        return decode_image(data, "the uploaded image")
    except TooLargeError as exc:
        raise ApiError(413, str(exc)) from None
    except InputError as exc:
        raise ApiError(400, str(exc)) from None
