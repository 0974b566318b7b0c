"""Video and image files as sinks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from rtswap.frame import Frame
from rtswap.media.image import write_image
from rtswap.media.video import VideoInfo, VideoWriter
from rtswap.output.base import Sink


class VideoFileSink(Sink):
    """An H.264 file; the input file's audio is carried over.

    Timing: by default each frame keeps its pts in the source's time base, so frames a live run
    dropped leave a longer frame (a variable frame rate). With ``constant_rate`` the file runs at
    the source's frame rate: each frame goes to the slot its media time falls in, and the slots of
    dropped frames repeat the frame before, which every editor and player handles."""

    def __init__(
        self,
        path: str | Path,
        info: VideoInfo,
        audio_from: Path | None = None,
        live: bool = False,
        constant_rate: bool = False,
    ) -> None:
        """``live``: frames come in real time, so encode with x264's fastest preset."""
        preset = "ultrafast" if live else "veryfast"
        if constant_rate:
            info = replace(info, time_base=1 / info.rate)
        self._writer = VideoWriter(path, info, audio_from=audio_from, preset=preset)
        self.path = Path(path)
        self.frames = 0
        """Frames written, repeats in dropped frames' slots included."""
        self._rate = info.rate if constant_rate else None
        self._start_s: float | None = None
        self._last_pts = -1
        self._last_image: np.ndarray | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if self._rate is None:
            # a camera that reconnects may restart its clock: keep pts rising regardless
            pts = max(self._last_pts + 1, frame.pts if frame.pts is not None else 0)
        else:
            pts = self._slot(frame.time_s)
            for missing in range(self._last_pts + 1, pts):  # dropped frames: repeat the last one
                assert self._last_image is not None
                self._writer.write(self._last_image, missing)
                self.frames += 1
            self._last_image = image
        self._last_pts = pts
        self._writer.write(image, pts)
        self.frames += 1

    def _slot(self, time_s: float) -> int:
        """The frame slot of media time ``time_s``; a clock that jumps back (a camera that
        reconnected) continues from the next slot."""
        assert self._rate is not None
        if self._start_s is None:
            self._start_s = time_s
        slot = round((time_s - self._start_s) * self._rate)
        if slot <= self._last_pts:
            slot = self._last_pts + 1
            self._start_s = time_s - slot / self._rate
        return slot

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
