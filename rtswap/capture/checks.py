"""Checks of an input before any slow work: whether a file is there, where a camera is and whether
it is there, without opening it."""

from __future__ import annotations

import sys
from pathlib import Path

from rtswap.errors import InputError, MediaError, require_file


def is_camera(spec: str) -> bool:
    return spec == "webcam" or spec.isdigit() or spec.startswith(("/dev/video", "video="))


def camera_url(spec: str) -> tuple[str, str]:
    """(url, FFmpeg input format) for ``webcam``, a camera index, ``/dev/videoN`` or ``video=NAME``."""
    if spec.startswith("video="):
        return spec, "dshow"
    if sys.platform == "darwin":
        return ("0" if spec == "webcam" else spec), "avfoundation"
    if sys.platform == "win32":
        raise MediaError(
            "on Windows, name the camera: --input 'video=Integrated Camera' "
            "(list names with: ffmpeg -list_devices true -f dshow -i dummy)"
        )
    if spec == "webcam":
        return "/dev/video0", "v4l2"
    return (f"/dev/video{spec}" if spec.isdigit() else spec), "v4l2"


def camera_missing(spec: str) -> str | None:
    """Where camera ``spec`` would be, if it is surely not there (a v4l2 device file that does not
    exist); None where it is, or where only opening it can tell (macOS, Windows)."""
    url, kind = camera_url(spec)
    return url if kind == "v4l2" and not Path(url).exists() else None


SYNTHETIC_SECONDS = 5.0
"""The synthetic clip's length: it is rendered whole into memory, then looped..."""
SYNTHETIC_MEMORY_GIB = 4.0
"""...in at most this much memory (4K at 30 fps takes 3.5 GiB)."""


def check_synthetic(resolution: tuple[int, int], fps: float, seconds: float = SYNTHETIC_SECONDS) -> None:
    """A one-line error now for a synthetic clip too large to render into memory (at 1e9 fps the
    rendering never ended)."""
    width, height = resolution
    gib = round(seconds * fps) * width * height * 3 / 2**30
    if gib > SYNTHETIC_MEMORY_GIB:
        raise InputError(
            f"the synthetic clip, {seconds:g} s at {width}x{height} and {fps:g} fps, would take "
            f"{gib:.1f} GiB of memory (at most {SYNTHETIC_MEMORY_GIB:g})"
        )


def check_source(spec: str) -> None:
    """A one-line error now, before any preparation, for an input that is not there."""
    if spec == "synthetic" or is_camera(spec):
        return
    require_file(Path(spec), hint="inputs: webcam, a camera index, /dev/videoN, synthetic, a file")
