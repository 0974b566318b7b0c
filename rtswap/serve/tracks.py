"""Between aiortc's event loop and the pipeline's threads: an incoming track as a pipeline source,
and the pipeline's output as an outgoing track. Both keep only the newest frame."""

from __future__ import annotations

import asyncio
import threading
import time
from fractions import Fraction

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

from rtswap.frame import Frame
from rtswap.media.video import DecodedFrame, VideoInfo
from rtswap.output.base import Sink

CLOCK = Fraction(1, 90_000)
"""RTP's 90 kHz video clock."""
_WAIT_S = 0.1


class TrackSource:
    """An incoming video track as a pipeline source. A task on the event loop receives every
    frame as it arrives (aiortc's queue is unbounded, so it must be drained) and keeps only the
    newest; the capture thread takes that one and converts it to RGB, so overtaken frames cost no
    conversion and the event loop does none."""

    live = True
    path = None

    def __init__(self, track: MediaStreamTrack) -> None:
        self.info = VideoInfo(0, 0, Fraction(30), CLOCK, 0, has_audio=False)  # size: per frame
        self._track = track
        self._latest: av.VideoFrame | None = None
        self._ended = False
        self._changed = threading.Condition()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._receive())

    async def _receive(self) -> None:
        try:
            while True:
                frame = await self._track.recv()
                assert isinstance(frame, av.VideoFrame)
                with self._changed:
                    self._latest = frame
                    self._changed.notify_all()
        except MediaStreamError:
            pass  # the peer stopped sending
        finally:
            self.close()

    def read(self) -> DecodedFrame | None:
        with self._changed:
            while self._latest is None and not self._ended:
                self._changed.wait(_WAIT_S)
            frame, self._latest = self._latest, None
        return None if frame is None else DecodedFrame(frame.to_ndarray(format="rgb24"), frame.pts)

    def close(self) -> None:
        """From any thread: no more frames."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)


class SwappedTrack(MediaStreamTrack):
    """The pipeline's output as a video track: ``recv`` returns the newest output frame, with pts
    on the 90 kHz clock from the time it was sent, always rising."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self._owner_loop = asyncio.get_running_loop()
        self._latest: np.ndarray | None = None
        self._fresh = asyncio.Event()
        self._start_s: float | None = None
        self._pts = -1

    def offer(self, image: np.ndarray) -> None:
        """From the output thread: make ``image`` (HxWx3 uint8 RGB) the next frame to send."""
        self._owner_loop.call_soon_threadsafe(self._set, image)

    def _set(self, image: np.ndarray) -> None:
        self._latest = image
        self._fresh.set()

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        await self._fresh.wait()
        self._fresh.clear()
        assert self._latest is not None
        frame = av.VideoFrame.from_ndarray(self._latest, format="rgb24")
        now = time.monotonic()
        self._start_s = self._start_s or now
        self._pts = max(self._pts + 1, int((now - self._start_s) / CLOCK))
        frame.pts, frame.time_base = self._pts, CLOCK
        return frame


class TrackSink(Sink):
    """Hands each output frame to a :class:`SwappedTrack`."""

    def __init__(self, track: SwappedTrack) -> None:
        self.track = track

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.track.offer(image)  # each frame has its own pixels; nothing writes to them after output
