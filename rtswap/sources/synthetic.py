"""The demo's generated astronaut clip as a source: paced at its frame rate for live use."""

from __future__ import annotations

import logging
from fractions import Fraction

from rtswap.media.video import DecodedFrame, VideoInfo
from rtswap.sources.base import Pacer
from rtswap.synthetic import SyntheticClip

log = logging.getLogger("rtswap")


class SyntheticSource:
    """Frames of a :class:`SyntheticClip`.

    ``paced``: played at the clip's frame rate, as if live; ``loop``: played over and over until
    closed. Paced or looping clips are rendered up front (rendering a 720p frame takes about as
    long as swapping it, and would otherwise compete with the pipeline for the CPU); otherwise
    each frame is rendered when read.
    """

    path = None

    def __init__(self, clip: SyntheticClip, paced: bool, loop: bool) -> None:
        self.clip, self.live, self.loop = clip, paced, loop
        rate = Fraction(clip.fps).limit_denominator(1001)
        self.info = VideoInfo(clip.width, clip.height, rate, 1 / rate, len(clip), has_audio=False)
        self._frames = None
        if paced or loop:
            log.info("rendering the %d-frame synthetic clip", len(clip))
            self._frames = [clip.frame(i) for i in range(len(clip))]
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
