"""Source clips the benchmarks make: frames written as an H.264 video at a given frame rate."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from rtswap.media.video import VideoInfo, VideoWriter


def write_clip(path: Path, frames: list[np.ndarray], fps: int) -> None:
    height, width = frames[0].shape[:2]
    writer = VideoWriter(path, VideoInfo(width, height, Fraction(fps), Fraction(1, fps), len(frames), False))
    for i, frame in enumerate(frames):
        writer.write(frame, pts=i)
    writer.close()
