"""Frame sinks: preview window, virtual camera, video or image file, null."""

from __future__ import annotations

from pathlib import Path

from rtswap.media.image import is_image_path
from rtswap.pipeline.stats import PipelineStats
from rtswap.sinks.base import NullSink, Sink
from rtswap.sources.base import Source


def open_sink(spec: str, source: Source, stats: PipelineStats) -> Sink:
    """``window``, ``virtualcam``, ``null``, or a file path (video, or image for an image source).
    A video file gets the source file's audio."""
    if spec == "window":
        from rtswap.sinks.window import WindowSink

        return WindowSink(stats)
    if spec == "virtualcam":
        from rtswap.sinks.virtualcam import VirtualCameraSink

        return VirtualCameraSink(source.info)
    if spec == "null":
        return NullSink()
    from rtswap.sinks.file import ImageSink, VideoFileSink

    if is_image_path(spec):
        return ImageSink(Path(spec))
    audio = source.path if source.path is not None and source.info.has_audio and not source.live else None
    return VideoFileSink(Path(spec), source.info, audio_from=audio, live=source.live)


__all__ = ["Sink", "open_sink"]
