"""``rtswap swap``: swap every face in an image or a whole video file, through the pipeline."""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rtswap.cli.notes import plural
from rtswap.cli.options import add_sources, add_swap, sources, swap_config
from rtswap.errors import InputError, require_file

if TYPE_CHECKING:  # the command's --help imports this module, and must not import torch
    import numpy as np

    from rtswap.frame import Frame
    from rtswap.pipeline import RunReport
    from rtswap.swapper import Swapper

log = logging.getLogger("rtswap")


@dataclass
class SwapReport:
    frames: int
    faces: int
    seconds: float
    run: RunReport

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    swap = sub.add_parser(
        "swap",
        parents=parents,
        help="swap faces in an image or video file",
        description="Swap every face in INPUT (image or video) for the face in SRC. Videos keep "
        "their frame count, frame rate, duration and audio. OUTPUT appears only "
        "when complete.",
    )
    swap.add_argument("input", type=Path, metavar="INPUT", help="image or video to change")
    swap.add_argument(
        "output", type=Path, metavar="OUTPUT", help="where to write the result (same kind as INPUT)"
    )
    add_sources(swap)
    add_swap(swap)


def run(args: argparse.Namespace) -> int:
    check_swap_paths(args.input, args.output)  # every check before torch is imported
    config = swap_config(args)
    source, maps = sources(args)
    from rtswap.media.image import is_image_path
    from rtswap.media.video import VideoReader
    from rtswap.swapper import Swapper

    if not is_image_path(args.input):  # a video rtswap cannot take is one line before the source is prepared
        VideoReader(args.input).close()

    with Swapper(source, config, maps=maps, progress=not args.quiet) as swapper:
        report = swap_file(
            swapper,
            args.input,
            args.output,
            label=args.label,
            progress=not args.quiet,
            detect_every=args.detect_every,
            max_faces=args.faces,
        )
    if report.faces == 0:
        log.warning("no face found in %s; wrote it unchanged", args.input)
    print(
        f"wrote {args.output} ({plural(report.frames, 'frame')}, {plural(report.faces, 'face')} swapped, "
        + (f"{report.seconds:.1f} s)" if report.frames == 1 else f"{report.fps:.1f} fps)")
    )
    return 0


def check_swap_paths(input_path: str | Path, output_path: str | Path) -> tuple[Path, Path]:
    """One-line errors for an input and output that cannot work, before any preparation."""
    from rtswap.media.image import check_output_path, check_video_output, is_image_path

    input_path, output_path = Path(input_path), check_output_path(output_path)
    require_file(input_path)
    if output_path.resolve() == input_path.resolve():
        raise InputError(f"{output_path}: output would overwrite the input")
    if is_image_path(input_path) != is_image_path(output_path):
        kind = "an image" if is_image_path(input_path) else "a video"
        raise InputError(f"{output_path}: input is {kind}, so the output must be too (check the suffix)")
    if not is_image_path(output_path):
        check_video_output(output_path)
    return input_path, output_path


def swap_file(
    swapper: Swapper,
    input_path: str | Path,
    output_path: str | Path,
    label: bool = True,
    progress: bool = True,
    detect_every: int = 10,
    max_faces: int | None = None,
) -> SwapReport:
    """Swap faces in an image or video file; the output appears only when complete.

    Runs the threaded pipeline with blocking rings, so every frame is kept. ``label`` draws the
    visible synthetic-media label on every frame (metadata is always written).
    """
    from tqdm import tqdm

    from rtswap.capture.open import open_source
    from rtswap.media.image import is_image_path
    from rtswap.pipeline import Pipeline, PipelineConfig

    input_path, output_path = check_swap_paths(input_path, output_path)
    start = time.perf_counter()
    source = open_source(str(input_path), live=False)
    config = PipelineConfig(live=False, detect_every=detect_every, max_faces=max_faces, label=label)
    faces = 0
    bar = tqdm(
        total=source.info.frames or None,
        unit="frame",
        disable=not progress or is_image_path(input_path),
        desc=input_path.name,
        leave=False,
    )

    def counted(frame: Frame, image: np.ndarray) -> None:
        nonlocal faces
        faces += len(frame.faces)
        bar.update()

    with bar:
        run = Pipeline.open(swapper.face_swap, source, [str(output_path)], config, on_output=counted).run()
    return SwapReport(frames=len(run.stats), faces=faces, seconds=time.perf_counter() - start, run=run)
