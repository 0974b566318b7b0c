"""Shared fixtures. Every test input is made here from the two shipped public-domain faces."""

from __future__ import annotations

import asyncio
import os
import struct
import tempfile
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Face
from rtswap.identity import views
from rtswap.media.image import read_image
from rtswap.media.samples import astronaut, grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.testing.skin import darker_skin


def pytest_configure(config: pytest.Config) -> None:
    """Prepared sources, model files and compiled kernels go to throwaway folders, never the user's."""
    os.environ["RTSWAP_CACHE"] = tempfile.mkdtemp(prefix="rtswap-test-cache-")
    os.environ["RTSWAP_MODELS"] = tempfile.mkdtemp(prefix="rtswap-test-models-")
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="rtswap-test-inductor-")
    # CUDA's "fp32" convolutions and matmuls default to TF32 (10-bit mantissa): parity with the
    # CPU, and the fp32 reference of fp16/bf16, need true fp32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False


@pytest.fixture(scope="session")
def astro() -> np.ndarray:
    return astronaut()


@pytest.fixture(scope="session")
def grace() -> np.ndarray:
    return read_image(grace_hopper_path())


@pytest.fixture(scope="session")
def analyzer() -> Iterator[FaceAnalyzer]:
    with FaceAnalyzer() as a:
        yield a


@pytest.fixture(scope="session")
def grace_swapper() -> Iterator[Swapper]:
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu")) as s:
        yield s


@pytest.fixture(scope="session")
def astro_swapper(astro: np.ndarray) -> Iterator[Swapper]:
    """The astronaut as the source (her fringe covers much of her forehead)."""
    with Swapper(astro, SwapConfig(device="cpu"), progress=False) as s:
        yield s


@pytest.fixture(scope="session")
def darker_astro(astro: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    """The astronaut with darker skin (:func:`rtswap.testing.skin.darker_skin`)."""
    return darker_skin(astro, analyzer.analyze(astro)[0].landmarks)


@pytest.fixture(scope="session")
def darker_astro_swapper(darker_astro: np.ndarray) -> Iterator[Swapper]:
    with Swapper(darker_astro, SwapConfig(device="cpu"), progress=False) as s:
        yield s


@pytest.fixture(scope="session")
def head() -> SyntheticHead:
    return SyntheticHead.astronaut()


def write_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int = 30,
    audio_seconds: float = 0.0,
    faststart: bool = False,
    rotation: int = 0,
) -> None:
    """An H.264 mp4 of ``frames``, with a 440 Hz AAC tone of ``audio_seconds`` if > 0, to be shown
    turned by ``rotation`` degrees (counter-clockwise; a phone's portrait clip says -90)."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as out:
        video = out.add_stream("libx264", rate=fps)
        video.height, video.width = frames[0].shape[:2]
        video.pix_fmt = "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        audio = out.add_stream("aac", rate=44100) if audio_seconds > 0 else None
        if audio is not None:
            audio.layout = "mono"
        for image in frames:
            for packet in video.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            chunk = 1024
            for k in range(int(44100 * audio_seconds) // chunk):
                t = (np.arange(chunk) + k * chunk) / 44100
                frame = av.AudioFrame.from_ndarray(
                    (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None], format="fltp", layout="mono"
                )
                frame.sample_rate, frame.pts = 44100, k * chunk
                for packet in audio.encode(frame):
                    out.mux(packet)
            for packet in audio.encode():
                out.mux(packet)


@pytest.fixture(scope="session")
def face_video(tmp_path_factory: pytest.TempPathFactory, head: SyntheticHead) -> Path:
    """12 frames of the moving astronaut, 640x360 at 24 fps, with 0.5 s of audio."""
    clip = SyntheticClip(width=640, height=360, fps=24, seconds=0.5, head=head)
    path = tmp_path_factory.mktemp("media") / "talking.mp4"
    write_video(path, list(clip), fps=24, audio_seconds=0.5)
    return path


def face_hull(face: Face, image_shape: tuple[int, ...], grow: float = 0.0) -> np.ndarray:
    """HxW bool: the convex hull of the face's landmarks, grown by ``grow`` face heights."""
    mask = np.zeros(image_shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(face.landmarks[:, :2]).astype(np.int32)), (1,))
    if grow:
        r = round(grow * face.height)
        return cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
    return mask.astype(bool)


def face_change(before: np.ndarray, after: np.ndarray, face: Face) -> tuple[float, int]:
    """(share of pixels well inside the face that changed by more than 10 levels, the largest
    change anywhere beyond the face grown by 10% of its height)."""
    change = np.abs(after.astype(int) - before.astype(int)).max(axis=-1)
    inner = cv2.erode(face_hull(face, before.shape).astype(np.uint8), np.ones((31, 31), np.uint8)).astype(
        bool
    )
    return float(np.mean(change[inner] > 10)), int(change[~face_hull(face, before.shape, grow=0.10)].max())


SERVER_TOKEN = "test-token"


@pytest.fixture()
def server_url(grace_swapper: Swapper) -> Iterator[str]:
    """``rtswap serve``'s server on its own event loop in a thread, as the command runs it; its
    base URL. Clients authenticate with ``SERVER_TOKEN``."""
    pytest.importorskip("aiortc")
    from aiohttp import web

    from rtswap.serve.app import Server
    from rtswap.serve.sessions import Sessions

    loop = asyncio.new_event_loop()
    runner = web.AppRunner(Server(Sessions(grace_swapper.face_swap), SERVER_TOKEN).app())
    started = threading.Event()
    port: list[int] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port.append(runner.addresses[0][1])
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30)
    yield f"http://127.0.0.1:{port[0]}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def count_collects(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time a source's views are collected (the slow part of
    preparing a source), from now on."""
    calls: list[int] = []
    real = views.collect

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "collect", counted)
    return calls


def png_header(width: int, height: int) -> bytes:
    """A PNG file that declares ``width`` x ``height`` pixels in a few dozen bytes (its pixel data
    cut short): what a decompression bomb looks like to a reader of its header."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
