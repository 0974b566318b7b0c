"""``rtswap demo``: Grace Hopper's face on a generated clip of the astronaut; no camera, no downloads."""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from rtswap.label import stamp
from rtswap.media.image import read_image, write_image
from rtswap.media.samples import grace_hopper_path
from rtswap.media.video import VideoInfo, VideoWriter
from rtswap.swapper import Swapper
from rtswap.synthetic import SyntheticClip

PREVIEW_HEIGHT = 360
PREVIEW_FRAME_S = 1.0
"""The preview shows the frame at this time: the head is turned and the mouth opening."""


@dataclass
class DemoReport:
    video: Path
    preview: Path
    frames: int
    swap_seconds: float
    total_seconds: float


def run_demo(
    out_dir: Path,
    engine: str = "warp",
    device: str = "auto",
    seconds: float = 5.0,
    crop_size: int = 256,
    label: bool = True,
    progress: bool = True,
) -> DemoReport:
    out_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    source = read_image(grace_hopper_path())
    clip = SyntheticClip(width=1280, height=720, fps=30.0, seconds=seconds)
    info = VideoInfo(
        width=clip.width,
        height=clip.height,
        rate=Fraction(30),
        time_base=Fraction(1, 30),
        frames=len(clip),
        has_audio=False,
    )
    preview_index = min(len(clip) - 1, round(PREVIEW_FRAME_S * clip.fps))
    swap_seconds = 0.0
    with Swapper(source, engine=engine, device=device, crop_size=crop_size) as swapper:
        writer = VideoWriter(out_dir / "demo.mp4", info)
        try:
            for index in tqdm(range(len(clip)), unit="frame", desc="demo", disable=not progress, leave=False):
                frame = clip.frame(index)
                t0 = time.perf_counter()
                swapped = swapper.swap_image(frame)
                swap_seconds += time.perf_counter() - t0
                if label:
                    stamp(swapped)
                writer.write(swapped, pts=index)
                if index == preview_index:
                    write_image(out_dir / "preview.png", preview(source, frame, swapped))
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return DemoReport(
        out_dir / "demo.mp4", out_dir / "preview.png", len(clip), swap_seconds, time.perf_counter() - start
    )


def preview(*images: np.ndarray) -> np.ndarray:
    """Images side by side at a common height."""
    scaled = [
        cv2.resize(
            im,
            (round(im.shape[1] * PREVIEW_HEIGHT / im.shape[0]), PREVIEW_HEIGHT),
            interpolation=cv2.INTER_AREA,
        )
        for im in images
    ]
    return np.concatenate(scaled, axis=1)
