"""A source that plays a list of frames and a sink that keeps what it is given: the pipeline's
ends, for tests that look at every frame."""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from rtswap.errors import MediaError
from rtswap.frame import Frame
from rtswap.media.video import DecodedFrame, VideoInfo
from rtswap.output.base import Sink


class ListSource:
    """Frames from a list; raises like a camera that was unplugged at ``fail_at``."""

    path = None

    def __init__(self, frames: list[np.ndarray], fail_at: int | None = None) -> None:
        self.frames, self.fail_at, self.live, self.closed = frames, fail_at, False, False
        height, width = frames[0].shape[:2]
        self.info = VideoInfo(width, height, Fraction(30), Fraction(1, 30), len(frames), has_audio=False)
        self._next = 0

    def read(self) -> DecodedFrame | None:
        if self._next == self.fail_at:
            raise MediaError("camera /dev/video0 stopped delivering frames")
        if self._next >= len(self.frames):
            return None
        self._next += 1
        return DecodedFrame(self.frames[self._next - 1].copy(), self._next - 1)

    def close(self) -> None:
        self.closed = True


class CollectSink(Sink):
    def __init__(self, delay_s: float = 0.0, fail: bool = False) -> None:
        self.images: list[np.ndarray] = []
        self.frames: list[Frame] = []
        self.delay_s, self.fail = delay_s, fail
        self.closed = self.aborted = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if self.fail:
            raise OSError("disk full")
        time.sleep(self.delay_s)
        self.images.append(image.copy())
        self.frames.append(frame)

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True
