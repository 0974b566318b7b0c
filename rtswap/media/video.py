"""Video files through PyAV: decode to RGB frames, encode H.264 with the input's timing and audio.

The writer keeps every frame's pts in the input's time base, so frame count, frame rate and
duration match the input exactly, and copies the input's audio packets through unchanged,
interleaved as the video advances. Output appears atomically: written under a temporary name,
renamed on success, removed on failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from rtswap.errors import InputError, MediaError, require_file
from rtswap.media.image import MAX_PIXELS, MAX_SIDE, check_video_output, temporary_sibling
from rtswap.media.label import METADATA

MIN_SIDE = 16
"""Frames narrower or lower than this hold no face rtswap can find..."""
MAX_FPS = 1000
"""...and no camera or file delivers more frames a second than this (a declared 1e9 made an odd
file)."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    rate: Fraction
    """Average frame rate, frames per second."""
    time_base: Fraction
    frames: int
    """Frame count from the container, 0 if it does not say."""
    has_audio: bool


@dataclass
class DecodedFrame:
    image: np.ndarray | torch.Tensor
    """HxWx3 uint8 RGB: on the host, or a tensor on any device (a source that already holds
    the frame on the GPU hands it over as it is)."""
    pts: int | None
    """Presentation time in the stream's time base."""


def _open(path: Path) -> av.container.InputContainer:
    require_file(path)
    try:
        return av.open(str(path))
    except av.error.FFmpegError as exc:
        raise MediaError(f"{path}: not a video or image rtswap can read ({exc.strerror or exc})") from exc


class VideoReader:
    """Decodes a file's first video stream, upright: a phone's portrait clip is stored sideways
    with the turn to show it in (a display matrix), which players apply and so does this. Raises
    MediaError if the file is cut short."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._container = _open(self.path)
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{self.path}: not a video or image rtswap can read (no video stream)")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"
        info = VideoInfo(
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            rate=Fraction(stream.average_rate or stream.guessed_rate or 30),
            time_base=Fraction(stream.time_base or Fraction(1, 90000)),
            frames=stream.frames,
            has_audio=bool(self._container.streams.audio),
        )
        problem = _unreadable(info)  # before anything is decoded
        if problem:
            self._container.close()
            raise InputError(f"{self.path}: {problem}")
        self._frames = self._container.decode(stream)
        self._first = self._next_frame(decoded=0)  # its turn is the stream's
        self._turns = 0 if self._first is None else round(self._first.rotation / 90) % 4
        self.info = replace(info, width=info.height, height=info.width) if self._turns % 2 else info

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[DecodedFrame]:
        frame, decoded = self._first, 0
        while frame is not None:
            decoded += 1
            image: np.ndarray = frame.to_ndarray(format="rgb24")
            if self._turns:  # counter-clockwise quarter turns, as the display matrix says
                image = np.ascontiguousarray(np.rot90(image, self._turns))
            yield DecodedFrame(image, frame.pts)
            frame = self._next_frame(decoded)
        if self.info.frames and decoded < self.info.frames:
            raise MediaError(f"{self.path}: truncated, decoded {decoded} of {self.info.frames} frames")

    def _next_frame(self, decoded: int) -> av.VideoFrame | None:
        """The next frame (None at the end); a decoding error is a MediaError that says how far
        it got."""
        try:
            return next(self._frames, None)
        except av.error.FFmpegError as exc:
            self._container.close()
            raise MediaError(
                f"{self.path}: decoding failed after {decoded} frames ({exc.strerror or exc})"
            ) from exc


def _unreadable(info: VideoInfo) -> str | None:
    """Why a video of ``info``'s size and rate is not one rtswap takes (None if it is)."""
    width, height = info.width, info.height
    if min(width, height) < MIN_SIDE:
        return f"its frames are {width}x{height}: too small to hold a face (at least {MIN_SIDE} px a side)"
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        return f"its frames are {width}x{height}: larger than rtswap reads ({MAX_SIDE} px a side)"
    if not 0 < info.rate <= MAX_FPS:
        return f"it declares {float(info.rate):g} frames a second (rtswap reads up to {MAX_FPS})"
    return None


class VideoWriter:
    """H.264 (yuv420p) video with ``info``'s timing; audio copied from ``audio_from`` if it has any."""

    def __init__(
        self,
        path: str | Path,
        info: VideoInfo,
        audio_from: str | Path | None = None,
        preset: str = "veryfast",
    ) -> None:
        """``preset``: x264's speed/size trade-off; ``ultrafast`` keeps up with live 720p30 on a
        small CPU next to the swap, at about twice the file size."""
        self.path = check_video_output(path)
        self._tmp = temporary_sibling(self.path)
        self._container = av.open(str(self._tmp), "w")
        self._container.metadata.update(METADATA)
        stream = self._container.add_stream("libx264", rate=info.rate)
        stream.width, stream.height = info.width - info.width % 2, info.height - info.height % 2
        stream.pix_fmt = "yuv420p"
        stream.time_base = info.time_base
        stream.codec_context.time_base = info.time_base
        stream.options = {"crf": "18", "preset": preset}
        self._video, self._info = stream, info
        self._next_pts = 0
        self._audio_in: av.container.InputContainer | None = None
        self._audio_packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        if audio_from is not None and info.has_audio:
            self._audio_in = av.open(str(audio_from))
            template = self._audio_in.streams.audio[0]
            self._audio_out = self._container.add_stream_from_template(template)
            self._audio_packets = self._audio_in.demux(template)

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Encode one HxWx3 uint8 RGB frame at ``pts`` (input time base; next frame slot if None)."""
        if pts is None:
            pts = self._next_pts
        self._next_pts = pts + round(1 / (self._info.rate * self._info.time_base))
        frame = av.VideoFrame.from_ndarray(image[: self._video.height, : self._video.width], format="rgb24")
        frame.pts, frame.time_base = pts, self._info.time_base
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self._copy_audio(until=pts * self._info.time_base)

    def close(self) -> None:
        """Flush, finish the file and move it into place."""
        for packet in self._video.encode():
            self._container.mux(packet)
        self._copy_audio(until=None)
        self._container.close()
        self._close_audio()
        try:
            os.replace(self._tmp, self.path)
        finally:  # moved, or not to be left behind
            self._tmp.unlink(missing_ok=True)

    def abort(self) -> None:
        """Give up: close everything and leave no output behind."""
        try:
            self._container.close()
        except av.error.FFmpegError:
            pass
        self._close_audio()
        self._tmp.unlink(missing_ok=True)

    def _copy_audio(self, until: Fraction | None) -> None:
        """Mux input audio packets whose time is before ``until`` seconds (all if None)."""
        if self._audio_packets is None:
            return
        while True:
            packet = self._pending or next(self._audio_packets, None)
            self._pending = None
            if packet is None:
                self._audio_packets = None
                return
            if packet.dts is None:  # demuxer's end-of-stream flush packet
                continue
            if until is not None and packet.pts is not None and packet.pts * packet.time_base > until:
                self._pending = packet
                return
            packet.stream = self._audio_out
            self._container.mux(packet)

    def _close_audio(self) -> None:
        if self._audio_in is not None:
            self._audio_in.close()
            self._audio_in = None
