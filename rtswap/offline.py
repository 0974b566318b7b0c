"""``rtswap swap``: swap every face in an image or a whole video file."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from rtswap.errors import InputError
from rtswap.label import stamp
from rtswap.media.image import check_output_path, is_image_path, read_image, write_image
from rtswap.media.video import VideoReader, VideoWriter
from rtswap.swapper import Swapper


@dataclass
class SwapReport:
    frames: int
    faces: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def swap_file(
    swapper: Swapper,
    input_path: str | Path,
    output_path: str | Path,
    label: bool = True,
    progress: bool = True,
) -> SwapReport:
    """Swap faces in an image or video file; the output appears only when complete.

    ``label`` draws the visible synthetic-media label on every frame (metadata is always written).
    """
    input_path, output_path = Path(input_path), check_output_path(output_path)
    if not input_path.is_file():
        raise InputError(f"{input_path}: no such file")
    if output_path.resolve() == input_path.resolve():
        raise InputError(f"{output_path}: output would overwrite the input")
    if is_image_path(input_path) != is_image_path(output_path):
        kind = "an image" if is_image_path(input_path) else "a video"
        raise InputError(f"{output_path}: input is {kind}, so the output must be too (check the suffix)")
    start = time.perf_counter()
    if is_image_path(input_path):
        swapped, faces = swapper.swap_and_report(read_image(input_path))
        write_image(output_path, stamp(swapped) if label else swapped)
        return SwapReport(frames=1, faces=len(faces), seconds=time.perf_counter() - start)
    return _swap_video(swapper, input_path, output_path, label, progress, start)


def _swap_video(
    swapper: Swapper, input_path: Path, output_path: Path, label: bool, progress: bool, start: float
) -> SwapReport:
    frames = faces = 0
    with VideoReader(input_path) as reader:
        writer = VideoWriter(output_path, reader.info, audio_from=input_path)
        try:
            bar = tqdm(
                reader,
                total=reader.info.frames or None,
                unit="frame",
                disable=not progress,
                desc=input_path.name,
                leave=False,
            )
            for decoded in bar:
                swapped, found = swapper.swap_and_report(decoded.image)
                writer.write(stamp(swapped) if label else swapped, decoded.pts)
                frames, faces = frames + 1, faces + len(found)
            writer.close()
        except BaseException:
            writer.abort()
            raise
    return SwapReport(frames=frames, faces=faces, seconds=time.perf_counter() - start)
