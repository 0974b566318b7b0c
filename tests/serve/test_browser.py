"""rtswap serve with a real browser: headless Chromium, a fake camera playing a generated face."""

from __future__ import annotations

import base64
import contextlib
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

pytest.importorskip("aiortc")
sync_api = pytest.importorskip("playwright.sync_api")
from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead  # noqa: E402
from rtswap.detect.analyzer import FaceAnalyzer  # noqa: E402
from tests.conftest import SERVER_TOKEN, face_hull  # noqa: E402

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")


def write_y4m(path: Path, frames: list[np.ndarray], fps: int) -> None:
    """A raw 4:2:0 video as Chromium's fake camera reads it (header says C420)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for image in frames:
            f.write(b"FRAME\n" + cv2.cvtColor(image, cv2.COLOR_RGB2YUV_I420).tobytes())


_GRAB = """() => {
  const v = document.getElementById('out');
  const c = document.createElement('canvas');
  c.width = v.videoWidth; c.height = v.videoHeight;
  c.getContext('2d').drawImage(v, 0, 0);
  return c.toDataURL('image/png');
}"""
"""The frame shown, as a PNG: one string to hand over (the pixels as a list of numbers took the
test's process, which serves too, long enough to slow the server's pipeline to a few fps)."""


@contextlib.contextmanager
def _page(tmp_path: Path, frames: list[np.ndarray]) -> Iterator[Any]:
    """A headless Chromium page whose camera plays ``frames`` at 30 fps."""
    camera = tmp_path / "face.y4m"
    write_y4m(camera, frames, fps=30)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
    flags += ["--disable-component-update", "--no-first-run", "--use-fake-ui-for-media-stream"]
    flags += ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={camera}"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=flags
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_browser_camera_comes_back_swapped(
    server_url: str, head: SyntheticHead, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    frames = list(SyntheticClip(width=640, height=480, fps=30, seconds=2, head=head))
    with _page(tmp_path, frames) as page:
        page.goto(f"{server_url}/#token={SERVER_TOKEN}")
        page.click("#start")
        page.wait_for_function("document.getElementById('out').videoWidth > 0", timeout=30_000)
        time.sleep(3.0)  # let the codecs settle
        grabs = []
        for _ in range(2):
            png = base64.b64decode(page.evaluate(_GRAB).split(",", 1)[1])
            grabs.append(
                cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            )
            time.sleep(0.5)
        page.wait_for_function("document.getElementById('server').textContent.length > 0", timeout=10_000)
        status = page.inner_text("#stats")
        server = page.inner_text("#server")
        page.screenshot(path=str(tmp_path / "page.png"))
    # WebRTC may lower the resolution while a call runs (the browser's encoder adapts to the CPU
    # it gets); what comes back is the camera's picture at the camera's aspect, brought to its size
    assert all(abs(grab.shape[1] / grab.shape[0] - 4 / 3) < 0.02 for grab in grabs)
    first, second = (cv2.resize(grab, (640, 480), interpolation=cv2.INTER_LINEAR) for grab in grabs)
    assert np.abs(first.astype(int) - second).mean() > 1  # it is playing, not a still
    sent = min(frames, key=lambda f: np.abs(first.astype(int) - f).mean())  # the frame shown
    face = analyzer.analyze(sent)[0]
    # at a quarter of the size the codecs' noise is gone and who the face is stays; the share of
    # pixels that changed clearly: 0.43 of the face, 0.02 of the rest (0.58 and 0.10 on a loaded
    # machine, where the browser's encoder gives way and the frame shown is not quite one sent)
    small = [cv2.resize(x, (160, 120), interpolation=cv2.INTER_AREA).astype(int) for x in (first, sent)]
    change = np.abs(small[0] - small[1]).max(axis=-1)
    changed = cv2.resize((change > 8).astype(np.uint8), (640, 480), interpolation=cv2.INTER_NEAREST) > 0
    inside = cv2.erode(face_hull(face, sent.shape).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    outside = ~face_hull(face, sent.shape, grow=0.1)
    assert changed[inside].mean() > max(0.3, 3 * changed[outside].mean())  # the face changed, far more
    assert "fps shown" in status and "network round trip" in status and "connected" in status
    assert re.match(
        r"server: \d+ fps in, \d+ fps out \| swap latency in the server p50 \d+ ms p95 \d+ ms", server
    )
    assert "faces 1" in server and "quality:" in server


def test_the_page_times_the_round_trip_of_frames_it_numbers(
    server_url: str, head: SyntheticHead, tmp_path: Path
) -> None:
    """With #measure the page sends its camera through a canvas that numbers each frame in a corner,
    reads the numbers back from the video that returns, and shows the round trip beside the server's
    own figure."""
    frames = list(SyntheticClip(width=640, height=480, fps=30, seconds=2, head=head))
    with _page(tmp_path, frames) as page:
        page.goto(f"{server_url}/#token={SERVER_TOKEN}&measure")
        page.click("#start")
        page.wait_for_function(
            "document.getElementById('stats').textContent.includes('round trip p50')", timeout=30_000
        )
        time.sleep(3.0)  # a few seconds' figures
        status = page.inner_text("#stats")
        server = page.inner_text("#server")
    print(f"page: {status} / {server}")
    found = re.search(r"round trip p50 (\d+) ms p95 (\d+) ms \(numbered frames\)", status)
    assert found and 0 < int(found.group(1)) <= int(found.group(2))
    assert "swap latency in the server p50" in server


def test_the_page_sends_another_source_face_and_says_what_came_of_it(
    server_url: str, head: SyntheticHead, astro: np.ndarray, tmp_path: Path
) -> None:
    frames = list(SyntheticClip(width=640, height=480, fps=30, seconds=1, head=head))
    face, notes = tmp_path / "face.png", tmp_path / "notes.png"
    cv2.imwrite(str(face), cv2.cvtColor(astro, cv2.COLOR_RGB2BGR))
    notes.write_text("not a picture")
    said = "document.getElementById('upload-status').textContent"
    with _page(tmp_path, frames) as page:
        page.goto(f"{server_url}/#token={SERVER_TOKEN}")
        page.click("#start")
        page.wait_for_function("!document.getElementById('send').disabled", timeout=30_000)
        page.set_input_files("input[name=image]", str(face))
        page.click("#send")
        page.wait_for_function(f"{said}.length > 0", timeout=60_000)
        assert page.inner_text("#upload-status") == "now swapping the new face"
        page.evaluate(f"{said} = ''")
        page.set_input_files("input[name=image]", str(notes))
        page.click("#send")
        page.wait_for_function(f"{said}.length > 0", timeout=30_000)
        assert "not a readable image" in page.inner_text("#upload-status")
