"""The demo's generated astronaut clip as a source: paced at its frame rate for live use."""

from __future__ import annotations

import hashlib
import logging
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

import rtswap.capture.synthetic_heads
from rtswap.capture.base import Pacer
from rtswap.capture.synthetic_heads import SyntheticClip
from rtswap.media.video import DecodedFrame, VideoInfo

log = logging.getLogger("rtswap")


def clip_cache_dir() -> Path:
    """``$RTSWAP_CACHE/clips`` if set, else ``clips`` in the user cache folder."""
    if os.environ.get("RTSWAP_CACHE"):
        return Path(os.environ["RTSWAP_CACHE"]) / "clips"
    import platformdirs

    return Path(platformdirs.user_cache_dir("rtswap")) / "clips"


def rendered(clip: SyntheticClip) -> list[np.ndarray]:
    """Every frame of ``clip``. A clip of the default head is rendered once and kept in the clip
    cache as lossless RGB H.264 (exact pixels, decoded faster than rendered), keyed by its
    settings and by the generator's own source code, so a change to the generator renders
    anew."""
    if clip.custom_head:
        return _render(clip)
    generator = hashlib.sha256(Path(rtswap.capture.synthetic_heads.__file__).read_bytes()).hexdigest()
    settings = f"{clip.width}x{clip.height}@{clip.fps}:{len(clip)}:{clip.faces}:{clip.face_scale}:{generator}"
    path = clip_cache_dir() / f"{hashlib.sha256(settings.encode()).hexdigest()[:24]}.mkv"
    try:
        with av.open(str(path)) as cached:
            frames = [f.to_ndarray(format="rgb24") for f in cached.decode(video=0)]
        if len(frames) == len(clip):
            return frames
    except (OSError, av.error.FFmpegError):
        pass  # not cached yet, or unreadable: render it
    frames = _render(clip)
    _store(path, frames, clip.fps)
    return frames


def _render(clip: SyntheticClip) -> list[np.ndarray]:
    """Every frame, with a progress bar (a minute for 16 faces) unless notes are off (``-q``)."""
    from tqdm import tqdm

    indices = tqdm(
        range(len(clip)),
        desc="rendering the synthetic clip",
        unit="frame",
        leave=False,
        disable=not log.isEnabledFor(logging.INFO),
    )
    return [clip.frame(i) for i in indices]


def _store(path: Path, frames: list[np.ndarray], fps: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    with av.open(str(tmp), "w") as out:
        stream = out.add_stream("libx264rgb", rate=Fraction(fps).limit_denominator(1001))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt, stream.options = "rgb24", {"qp": "0", "preset": "ultrafast"}
        for image in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    os.replace(tmp, path)


class SyntheticSource:
    """Frames of a :class:`SyntheticClip`.

    ``paced``: played at the clip's frame rate, as if live; ``loop``: played over and over until
    closed. Paced or looping clips are rendered up front (rendering a 720p frame takes about as
    long as swapping it, and would otherwise compete with the pipeline for the CPU) or read from
    the clip cache; otherwise each frame is rendered when read.
    """

    path = None

    def __init__(self, clip: SyntheticClip, paced: bool, loop: bool) -> None:
        self.clip, self.live, self.loop = clip, paced, loop
        rate = Fraction(clip.fps).limit_denominator(1001)
        self.info = VideoInfo(clip.width, clip.height, rate, 1 / rate, len(clip), has_audio=False)
        self._frames = None
        if paced or loop:
            self._frames = rendered(clip)
        self._pacer = Pacer()
        self._index = 0
        self._closed = False

    def read(self) -> DecodedFrame | None:
        if self._closed or (not self.loop and self._index >= len(self.clip)):
            return None
        i = self._index
        if self._frames is None:
            image = self.clip.frame(i)
        else:
            image = self._frames[i % len(self._frames)].copy()  # the pipeline draws into its frame
        if self.live:
            self._pacer.wait(i / self.clip.fps)
        self._index += 1
        return DecodedFrame(image, pts=i)

    def close(self) -> None:
        self._closed = True
