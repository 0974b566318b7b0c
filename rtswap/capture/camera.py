"""Webcams through PyAV: v4l2 on Linux, AVFoundation on macOS, DirectShow on Windows."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from fractions import Fraction

import av

from rtswap.capture.checks import camera_url
from rtswap.errors import MediaError
from rtswap.media.video import DecodedFrame, VideoInfo

log = logging.getLogger("rtswap")

_RECONNECT_INTERVAL_S = 1.0


class CameraSource:
    """Frames from a camera as they arrive. Asks for ``width`` x ``height`` at ``fps`` (MJPEG on
    v4l2, which most USB cameras only offer at full rate); falls back to the camera's default
    mode. A camera that stops delivering ends the stream with a MediaError, or with ``reconnect``
    is reopened every second until it is back."""

    live = True
    path = None

    def __init__(self, spec: str, width: int, height: int, fps: float, reconnect: bool = False) -> None:
        self.url, self.format = camera_url(spec)
        self.reconnect = reconnect
        self._wanted = {"video_size": f"{width}x{height}", "framerate": f"{fps:g}"}
        self._closed = False
        self._container = self._open()
        stream = self._container.streams.video[0]
        rate = Fraction(stream.average_rate or fps).limit_denominator(1001)
        time_base = Fraction(stream.time_base or Fraction(1, 1_000_000))
        self.info = VideoInfo(
            stream.codec_context.width, stream.codec_context.height, rate, time_base, 0, has_audio=False
        )
        self._frames: Iterator[av.VideoFrame] = self._container.decode(video=0)

    def _open(self) -> av.container.InputContainer:
        attempts = [{**self._wanted, "input_format": "mjpeg"}, self._wanted, {}]
        if self.format != "v4l2":
            attempts = attempts[1:]
        error: Exception | None = None
        for options in attempts:
            try:
                return av.open(self.url, format=self.format, options=options)
            except (av.error.FFmpegError, OSError) as exc:
                error = exc
        raise MediaError(
            f"no camera found at {self.url} ({_reason(error)}); try without one: --input synthetic "
            "or --input VIDEO_FILE"
        )

    def read(self) -> DecodedFrame | None:
        while not self._closed:
            try:
                frame = next(self._frames)
                return DecodedFrame(frame.to_ndarray(format="rgb24"), frame.pts)  # the driver's clock
            except (StopIteration, av.error.FFmpegError, OSError) as exc:
                if self._closed:
                    return None
                if not self.reconnect:
                    raise MediaError(
                        f"camera {self.url} stopped delivering frames ({_reason(exc)}); was it "
                        "unplugged? Use --reconnect to wait for it to come back"
                    ) from None
                self._reopen(exc)
        return None

    def _reopen(self, exc: BaseException) -> None:
        log.warning("camera %s lost (%s); reconnecting", self.url, _reason(exc))
        self._container.close()
        while not self._closed:
            time.sleep(_RECONNECT_INTERVAL_S)
            try:
                self._container = self._open()
            except MediaError:
                continue
            self._frames = self._container.decode(video=0)
            log.warning("camera %s is back", self.url)
            return

    def close(self) -> None:
        self._closed = True
        self._container.close()


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, av.error.FFmpegError):
        return exc.strerror or str(exc)
    return str(exc) if exc is not None and str(exc) else type(exc).__name__
