"""``rtswap demo``: Grace Hopper's face on a generated clip of the astronaut, through the live
pipeline into a file; no camera, no downloads.

The clip is paced at 30 fps, as a camera would deliver it, so the latency figures are those of a
live run; the rings block instead of dropping, so the video has every frame even on a machine
too slow to keep up (there the clip just takes longer).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rtswap.capture.synthetic import SyntheticSource
from rtswap.capture.synthetic_heads import SyntheticClip
from rtswap.frame import Frame
from rtswap.media.image import read_image, write_image
from rtswap.media.samples import grace_hopper_path
from rtswap.pipeline import Pipeline, PipelineConfig, RunReport
from rtswap.swapper import Swapper

PREVIEW_HEIGHT = 360
PREVIEW_FRAME_S = 1.0
"""The preview shows the frame at this time: the head is turned and the mouth opening."""


@dataclass
class DemoReport:
    video: Path
    preview: Path
    frames: int
    """Frames in the clip."""
    run: RunReport


def run_demo(
    out_dir: Path,
    engine: str = "warp",
    device: str = "auto",
    seconds: float = 5.0,
    label: bool = True,
    **options: Any,
) -> DemoReport:
    """``options``: engine settings, as :class:`~rtswap.swapper.Swapper` takes them."""
    out_dir.mkdir(parents=True, exist_ok=True)
    source_image = read_image(grace_hopper_path())
    clip = SyntheticClip(width=1280, height=720, fps=30.0, seconds=seconds)
    preview_index = min(len(clip) - 1, round(PREVIEW_FRAME_S * clip.fps))
    kept: list[np.ndarray] = []
    kept_index: list[int] = []

    def keep_preview(frame: Frame, image: np.ndarray) -> None:
        if frame.index >= preview_index and not kept:  # that frame itself may have been dropped
            kept.append(image.copy())  # written after the run, so as not to hold up the output stage
            kept_index.append(frame.index)

    with Swapper(source_image, engine, device, **options) as swapper:
        # as a camera would be: paced, newest frame wins, the recording at a constant 30 fps
        source = SyntheticSource(clip, paced=True, loop=False)
        config = PipelineConfig(live=True, label=label)
        run = Pipeline.open(
            swapper.face_swap, source, [str(out_dir / "demo.mp4")], config, keep_preview
        ).run()
    write_image(out_dir / "preview.png", preview(source_image, clip.frame(kept_index[0]), kept[0]))
    return DemoReport(out_dir / "demo.mp4", out_dir / "preview.png", len(clip), run)


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
