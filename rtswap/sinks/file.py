"""Video and image files as sinks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtswap.frame import Frame
from rtswap.media.image import write_image
from rtswap.media.video import VideoInfo, VideoWriter
from rtswap.sinks.base import Sink


class VideoFileSink(Sink):
    """An H.264 file timed by the frames' pts in the source's time base (frames a live run
    dropped leave a longer frame, not a shift); the input file's audio is carried over."""

    def __init__(
        self, path: str | Path, info: VideoInfo, audio_from: Path | None = None, live: bool = False
    ) -> None:
        """``live``: frames come in real time, so encode with x264's fastest preset."""
        preset = "ultrafast" if live else "veryfast"
        self._writer = VideoWriter(path, info, audio_from=audio_from, preset=preset)
        self._last_pts = -1

    def write(self, image: np.ndarray, frame: Frame) -> None:
        # a camera that reconnects may restart its clock: keep pts rising regardless
        pts = max(self._last_pts + 1, frame.pts if frame.pts is not None else 0)
        self._last_pts = pts
        self._writer.write(image, pts)

    def close(self) -> None:
        self._writer.close()

    def abort(self) -> None:
        self._writer.abort()


class ImageSink(Sink):
    """One image file, written when closed (with metadata that marks it synthetic)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._image: np.ndarray | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self._image = image.copy()

    def close(self) -> None:
        if self._image is not None:
            write_image(self.path, self._image)
