"""Opening a frame sink by name: preview window, virtual camera, video or image file, null."""

from __future__ import annotations

from pathlib import Path

from rtswap.capture.base import Source
from rtswap.media.image import is_image_path
from rtswap.output.base import NullSink, Sink
from rtswap.output.stats import PipelineStats


def open_sink(spec: str, source: Source, stats: PipelineStats, vfr: bool = False) -> Sink:
    """``window``, ``virtualcam``, ``null``, or a file path (video, or image for an image source).
    A video file gets the source file's audio; from a live source it is recorded at a constant
    frame rate unless ``vfr``."""
    if spec == "window":
        from rtswap.output.window import WindowSink

        return WindowSink(stats)
    if spec == "virtualcam":
        from rtswap.output.virtualcam import VirtualCameraSink

        return VirtualCameraSink(source.info)
    if spec == "null":
        return NullSink()
    from rtswap.output.file import ImageSink, VideoFileSink

    if is_image_path(spec):
        return ImageSink(Path(spec))
    audio = source.path if source.path is not None and source.info.has_audio and not source.live else None
    return VideoFileSink(
        Path(spec), source.info, audio_from=audio, live=source.live, constant_rate=source.live and not vfr
    )
