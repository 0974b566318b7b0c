"""Video and image files as sources."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

from rtswap.capture.base import Pacer
from rtswap.media.image import read_image
from rtswap.media.video import DecodedFrame, VideoInfo, VideoReader


class VideoFileSource:
    """A video file's frames. ``paced``: played at the file's own frame rate, as if live
    (``loop`` starts it again at the end, with pts that keep rising); otherwise read as fast as
    the pipeline takes them."""

    def __init__(self, path: str | Path, paced: bool, loop: bool = False) -> None:
        self.path, self.live, self.loop = Path(path), paced, loop
        self._reader = VideoReader(self.path)
        self.info = self._reader.info
        self._frames: Iterator[DecodedFrame] = iter(self._reader)
        self._pacer = Pacer()
        self._offset = 0
        """pts added to this pass over the file (the length of the passes before)."""
        self._end = 0
        self._closed = False

    def read(self) -> DecodedFrame | None:
        if self._closed:
            return None
        decoded = next(self._frames, None)
        if decoded is None and self.loop and self._end > self._offset:
            self._reader.close()
            self._reader = VideoReader(self.path)
            self._frames, self._offset = iter(self._reader), self._end
            decoded = next(self._frames, None)
        if decoded is None:
            return None
        pts = (decoded.pts or 0) + self._offset
        self._end = max(self._end, pts + self._frame_ticks)
        if self.live:
            self._pacer.wait(float(pts * self.info.time_base))
        return DecodedFrame(decoded.image, pts)

    @property
    def _frame_ticks(self) -> int:
        return max(1, round(1 / (self.info.rate * self.info.time_base)))

    def close(self) -> None:
        self._closed = True
        self._reader.close()


class ImageSource:
    """One still image: a single frame."""

    live = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._image = read_image(self.path)
        height, width = self._image.shape[:2]
        self.info = VideoInfo(width, height, Fraction(1), Fraction(1), frames=1, has_audio=False)
        self._done = False

    def read(self) -> DecodedFrame | None:
        if self._done:
            return None
        self._done = True
        return DecodedFrame(self._image, pts=0)

    def close(self) -> None:
        self._done = True
