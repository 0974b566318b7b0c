"""Checks of an output before any slow work: whether a preview window can open here, a folder or
virtual camera exists, without importing the sinks' libraries."""

from __future__ import annotations

import os
import sys

from rtswap.errors import OutputError
from rtswap.media.image import check_output_path, check_video_output, is_image_path


def display_available() -> bool:
    return sys.platform in ("win32", "darwin") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


def check_display() -> None:
    if not display_available():
        raise OutputError(
            "no display for a window (DISPLAY is not set); use --output virtualcam, FILE.mp4 or null"
        )


def check_sink(spec: str) -> None:
    """Fail now, before any preparation, where :func:`open_sink` would fail for a live run."""
    if spec == "window":
        check_display()
    elif spec == "virtualcam":
        from rtswap.output.virtualcam import check_virtual_camera

        check_virtual_camera()
    elif spec != "null":
        check_output_path(spec)
        if is_image_path(spec):
            raise OutputError(
                f"{spec}: a live run writes a video: give FILE.mp4 (or use 'rtswap swap' for images)"
            )
        check_video_output(spec)
