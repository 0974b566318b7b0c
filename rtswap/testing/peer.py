"""A WebRTC peer for the loopback tests and the soak benchmark of ``rtswap serve``, run as its own
process (as a real client would be): it sends the moving astronaut (640x480 at 30 fps unless told
otherwise), each frame numbered in a corner, reads the numbers back from the frames that return,
and writes what it measured.

    python -m rtswap.testing.peer URL TOKEN SECONDS OUT.npz [WIDTHxHEIGHT [FPS]]

SECONDS ``-`` keeps the call until the peer's stdin closes, so a test ends it when it chooses.
The peer prints ``receiving`` once it has measured frames for ``ANNOUNCE_S``.
"""

from __future__ import annotations

import asyncio
import sys
import time
from fractions import Fraction
from pathlib import Path
from typing import cast

import aiohttp
import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.serve.tracks import CLOCK

WARMUP_S = 2.0
"""Frames received in the first seconds (codecs ramping up) are not measured."""

ANNOUNCE_S = 2.0

BITS, BLOCK = 13, 24
"""Frame numbers are drawn top left as 13 black/white 24 px blocks (they repeat after 273 s)."""


def mark(image: np.ndarray, number: int) -> None:
    for bit in range(BITS):
        image[:BLOCK, bit * BLOCK : (bit + 1) * BLOCK] = 255 if number >> bit & 1 else 0


def read_mark(image: np.ndarray) -> int:
    blocks = [image[4 : BLOCK - 4, b * BLOCK + 4 : (b + 1) * BLOCK - 4].mean() for b in range(BITS)]
    return sum(1 << bit for bit, value in enumerate(blocks) if value > 128)


class MarkedFaces(VideoStreamTrack):
    """At ``fps``: the moving astronaut (640x480 unless ``frames`` are other), each frame numbered;
    remembers when each was sent."""

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0) -> None:
        super().__init__()
        self.frames, self.fps, self.count = frames, fps, 0
        self.sent: dict[int, float] = {}
        self._began: float | None = None

    async def next_timestamp(self) -> tuple[int, Fraction]:
        """The next frame's pts on the 90 kHz clock, once it is due."""
        now = time.monotonic()
        self._began = self._began or now
        due = self._began + self.count / self.fps
        if due > now:
            await asyncio.sleep(due - now)
        return round(self.count / self.fps * 90_000), CLOCK

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        image = self.frames[self.count % len(self.frames)].copy()
        number = self.count % (1 << BITS)
        mark(image, number)
        self.sent[number] = time.monotonic()
        self.count += 1
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, time_base
        return frame


def clip(width: int = 640, height: int = 480) -> list[np.ndarray]:
    return list(SyntheticClip(width=width, height=height, fps=30, seconds=2, head=SyntheticHead.astronaut()))


async def run(
    url: str, token: str, seconds: float | None, out: Path, size: str = "640x480", fps: float = 30.0
) -> None:
    width, height = (int(v) for v in size.split("x"))
    frames = clip(width, height)
    track = MarkedFaces(frames, fps)
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no third party: a peer on this machine
    pc.addTrack(track)
    received: list[tuple[float, av.VideoFrame]] = []

    @pc.on("track")
    def receive(incoming: MediaStreamTrack) -> None:
        async def drain() -> None:
            announced = False
            while True:
                try:
                    frame = cast(av.VideoFrame, await incoming.recv())
                except Exception:
                    return
                received.append((time.monotonic(), frame))  # when it came, not when the wait began
                if not announced and received[-1][0] > received[0][0] + WARMUP_S + ANNOUNCE_S:
                    print("receiving", flush=True)
                    announced = True

        asyncio.ensure_future(drain())

    await pc.setLocalDescription(await pc.createOffer())
    async with aiohttp.ClientSession() as http:
        body = {"sdp": pc.localDescription.sdp, "type": "offer"}
        reply = await http.post(f"{url}/offer", json=body, headers={"Authorization": f"Bearer {token}"})
        answer = await reply.json()
    await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
    if seconds is None:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    else:
        await asyncio.sleep(seconds)
    await pc.close()
    late = [(t, f.to_ndarray(format="rgb24")) for t, f in received if t >= received[0][0] + WARMUP_S]
    numbers = np.array([read_mark(image) for _, image in late])
    sent = np.array([track.sent.get(int(n), np.nan) for n in numbers])
    times = np.array([t for t, _ in late])
    every = max(1, len(late) // 20)  # a sample of frames for the pixel checks
    np.savez_compressed(
        out,
        times=times,
        latency_ms=(times - sent) * 1000,
        numbers=numbers,
        sample=np.stack([image for _, image in late[::every]]),
        sample_sent=np.stack([frames[int(n) % len(frames)] for n in numbers[::every]]),
    )


if __name__ == "__main__":
    size = sys.argv[5] if len(sys.argv) > 5 else "640x480"
    fps = float(sys.argv[6]) if len(sys.argv) > 6 else 30.0
    seconds = None if sys.argv[3] == "-" else float(sys.argv[3])
    asyncio.run(run(sys.argv[1], sys.argv[2], seconds, Path(sys.argv[4]), size, fps))
