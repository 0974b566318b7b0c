"""Opening a frame source by name: webcam, camera device, video or image file, generated clip."""

from __future__ import annotations

from pathlib import Path

from rtswap.capture.base import Source
from rtswap.capture.checks import SYNTHETIC_SECONDS, check_source, check_synthetic, is_camera
from rtswap.media.image import is_image_path


def open_source(
    spec: str,
    *,
    live: bool,
    loop: bool = False,
    resolution: tuple[int, int] = (1280, 720),
    fps: float = 30.0,
    faces: int = 1,
    reconnect: bool = False,
) -> Source:
    """``webcam``, a camera index or ``/dev/videoN``, ``synthetic``, or a video/image file path.

    ``live``: files and the synthetic clip play at their frame rate (the synthetic clip loops);
    otherwise they are read as fast as the pipeline goes. ``loop``: start over at the end.
    ``resolution`` and ``fps`` apply to cameras (as a request) and to the synthetic clip;
    ``faces`` to the synthetic clip.
    """
    width, height = resolution
    if spec == "synthetic":
        from rtswap.capture.synthetic import SyntheticSource
        from rtswap.capture.synthetic_heads import SyntheticClip

        check_synthetic(resolution, fps)
        clip = SyntheticClip(width, height, fps=fps, seconds=SYNTHETIC_SECONDS, faces=faces)
        return SyntheticSource(clip, paced=live, loop=live or loop)
    if is_camera(spec):
        from rtswap.capture.camera import CameraSource

        return CameraSource(spec, width, height, fps, reconnect=reconnect)
    check_source(spec)
    path = Path(spec)
    from rtswap.capture.file import ImageSource, VideoFileSource

    if is_image_path(path):
        return ImageSource(path)
    return VideoFileSource(path, paced=live, loop=loop)
