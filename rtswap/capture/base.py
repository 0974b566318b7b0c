"""What every frame source provides."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from rtswap.media.video import DecodedFrame, VideoInfo


class Source(Protocol):
    @property
    def info(self) -> VideoInfo:
        """Frame size, rate and time base of the frames ``read`` returns."""

    @property
    def live(self) -> bool:
        """Frames arrive in real time (camera, paced file or synthetic clip)."""

    @property
    def path(self) -> Path | None:
        """The file read, if any (its audio can be carried into a video output)."""

    def read(self) -> DecodedFrame | None:
        """The next frame, waiting for it if live; None when the input has ended."""

    def close(self) -> None:
        """Release the device or file; may be called from another thread to end a blocked read."""


class Pacer:
    """Sleeps until each frame's media time has come on the wall clock, starting at the first call.

    A reader that comes back a frame interval late or more (a live pipeline holds its second read
    until the first frame is composited) goes on from then: the frames it missed are not
    delivered in a burst, which the newest-frame-wins rings would drop, a stutter in every
    recording."""

    def __init__(self) -> None:
        self._origin_s: float | None = None
        self._previous_s = 0.0

    def wait(self, media_time_s: float) -> None:
        now = time.monotonic()
        interval, self._previous_s = media_time_s - self._previous_s, media_time_s
        if self._origin_s is None or now - (self._origin_s + media_time_s) > interval:
            self._origin_s = now - media_time_s
            return
        delay = self._origin_s + media_time_s - now
        if delay > 0:
            time.sleep(delay)
