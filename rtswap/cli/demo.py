"""``rtswap demo``: Grace Hopper's face on a generated clip of the astronaut, through the live
pipeline into a file; no camera, no downloads.

The clip is paced at 30 fps, as a camera would deliver it, so the latency figures are those of a
live run; the rings block instead of dropping, so the video has every frame even on a machine
too slow to keep up (there the clip just takes longer).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rtswap.capture.checks import check_synthetic
from rtswap.cli import argtypes
from rtswap.cli.notes import latency_line
from rtswap.cli.options import add_swap, swap_config
from rtswap.config import SwapConfig
from rtswap.errors import InputError

if TYPE_CHECKING:  # the command's --help imports this module, and must not import torch
    from rtswap.frame import Frame
    from rtswap.pipeline import RunReport

FPS = 30
WIDTH, HEIGHT = 1280, 720
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

    @property
    def dropped_in_first_second(self) -> int:
        return FPS - sum(index < FPS for index in self.run.stats.indices())


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo",
        parents=parents,
        help="swap Grace Hopper onto a generated astronaut clip (no camera, no downloads)",
        description="Swap Grace Hopper's face (matplotlib's sample photo) onto a generated "
        "1280x720 30 fps clip of the astronaut turning, nodding, talking and "
        "blinking. Writes DIR/demo.mp4 and DIR/preview.png (source | target | result, around the faces).",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("rtswap-demo"),
        metavar="DIR",
        help="output folder, created if missing (default: ./rtswap-demo)",
    )
    demo.add_argument("--seconds", type=argtypes.positive_float, default=5.0, help="clip length (default: 5)")
    add_swap(demo)


def run(args: argparse.Namespace) -> int:
    check_synthetic((WIDTH, HEIGHT), FPS, args.seconds)  # a long clip is rendered whole first
    try:  # a file in the way is one line now, not a traceback after the source is prepared
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{args.out}: cannot make the output folder there ({exc.strerror})") from None
    demo = run_demo(args.out, swap_config(args), seconds=args.seconds, label=args.label)
    summary = demo.run.stats.summary()
    print(
        f"wrote {demo.video} ({demo.frames} frames, {WIDTH}x{HEIGHT} at {FPS} fps; {summary.frames} swapped "
        f"live, the slots of dropped frames repeat the frame before) and {demo.preview}"
    )
    print(f"live pipeline: {latency_line(summary, demo.run.dropped)}")
    print(f"first second: {demo.dropped_in_first_second} of {FPS} frames dropped")
    return 0


def run_demo(
    out_dir: Path, config: SwapConfig | None = None, seconds: float = 5.0, label: bool = True
) -> DemoReport:
    """The demo into ``out_dir`` with ``config``'s engine (default: warp)."""
    from rtswap.capture.synthetic import SyntheticSource
    from rtswap.capture.synthetic_heads import SyntheticClip
    from rtswap.media.image import read_image, write_image
    from rtswap.media.label import stamp
    from rtswap.media.samples import grace_hopper_path
    from rtswap.pipeline import Pipeline, PipelineConfig
    from rtswap.swapper import Swapper

    out_dir.mkdir(parents=True, exist_ok=True)
    source_image = read_image(grace_hopper_path())
    clip = SyntheticClip(width=WIDTH, height=HEIGHT, fps=FPS, seconds=seconds)
    preview_index = min(len(clip) - 1, round(PREVIEW_FRAME_S * clip.fps))
    kept: list[np.ndarray] = []
    kept_index: list[int] = []

    def keep_preview(frame: Frame, image: np.ndarray) -> None:
        if frame.index >= preview_index and not kept:  # that frame itself may have been dropped
            kept.append(image.copy())  # written after the run, so as not to hold up the output stage
            kept_index.append(frame.index)

    with Swapper(source_image, config) as swapper:
        # as a camera would be: paced, newest frame wins, the recording at a constant 30 fps
        source = SyntheticSource(clip, paced=True, loop=False)
        pipeline_config = PipelineConfig(live=True, label=label)
        run = Pipeline.open(
            swapper.face_swap, source, [str(out_dir / "demo.mp4")], pipeline_config, keep_preview
        ).run()
        target = clip.frame(kept_index[0])
        boxes = [swapper.analyzer.analyze(image, 1)[0].box for image in (source_image, target)]
    panels = [around(source_image, boxes[0]), around(target, boxes[1]), around(kept[0], boxes[1])]
    side_by_side = np.concatenate(panels, axis=1)
    write_image(out_dir / "preview.png", stamp(side_by_side) if label else side_by_side)
    return DemoReport(out_dir / "demo.mp4", out_dir / "preview.png", len(clip), run)


def around(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """A square of ``image`` around a face's box (x0, y0, x1, y1), twice the face's size where the
    image allows, at ``PREVIEW_HEIGHT`` px: big enough to judge the swap by."""
    import cv2

    height, width = image.shape[:2]
    side = min(height, width, round(2 * max(box[2] - box[0], box[3] - box[1])))
    x0 = int(np.clip((box[0] + box[2] - side) / 2, 0, width - side))
    y0 = int(np.clip((box[1] + box[3] - side) / 2, 0, height - side))
    square = image[y0 : y0 + side, x0 : x0 + side]
    return cv2.resize(square, (PREVIEW_HEIGHT, PREVIEW_HEIGHT), interpolation=cv2.INTER_AREA)
