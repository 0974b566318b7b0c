"""Still images: decode with clear errors, write atomically; and the checks on output paths."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from rtswap.errors import InputError, OutputError, TooLargeError, require_file
from rtswap.media.label import METADATA

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


MAX_SIDE = 8192
"""Images wider or taller than this many pixels are refused..."""
MAX_PIXELS = 40_000_000
"""...and so are those of more pixels than this: a small file can declare billions (a decoder
then takes gigabytes, or crashes the process)."""
_LIMITS = f"{MAX_SIDE} px a side, {MAX_PIXELS // 1_000_000} MP"


def checked_rgb(image: object, name: str) -> np.ndarray:
    """``image`` if it is an HxWx3 uint8 array (RGB) of at least one pixel; else an InputError
    that says what it is instead (a library caller's grey, RGBA or float image would otherwise
    fail deep inside OpenCV)."""
    if not isinstance(image, np.ndarray):
        raise InputError(f"{name}: expected an HxWx3 uint8 RGB array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or not image.size:
        raise InputError(f"{name}: expected an HxWx3 uint8 RGB array, got {image.dtype} {image.shape}")
    return image


def read_image(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB. Raises InputError for a missing, unreadable or non-image file, and
    TooLargeError (an InputError) for one past :data:`MAX_SIDE` or :data:`MAX_PIXELS`."""
    path = Path(path)
    require_file(path)
    return decode_image(path.read_bytes(), str(path))


def decode_image(data: bytes, name: str) -> np.ndarray:
    """HxWx3 uint8 RGB from an encoded image (any format OpenCV reads, EXIF orientation applied,
    16-bit scaled to 8), for the CLI and the server alike. Its size is read from the header and
    checked before anything is decoded. ``name``: what the messages call it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # ours is the check below
            with Image.open(io.BytesIO(data)) as header:
                width, height = header.size
    except Image.DecompressionBombError:  # Pillow's own bound, far past ours
        raise TooLargeError(f"{name}: larger than rtswap reads ({_LIMITS}); scale it") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise InputError(f"{name}: not a readable image (corrupt, empty or not an image format)") from None
    if max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise TooLargeError(f"{name}: {width}x{height} is larger than rtswap reads ({_LIMITS}); scale it")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise InputError(f"{name}: not a readable image (corrupt, empty or not an image format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_output_path(path: str | Path) -> Path:
    """The output's folder must exist, and the output not be a folder itself; the file is only
    written when the work succeeds."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder; give the output file's name")
    return path


VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".avi")
"""The containers :class:`~rtswap.media.video.VideoWriter` writes its H.264 into."""


def check_video_output(path: str | Path) -> Path:
    """:func:`check_output_path`, and a suffix the video writer can write."""
    path = check_output_path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise OutputError(f"{path}: rtswap writes video as {', '.join(VIDEO_SUFFIXES)} (H.264)")
    return path


def temporary_sibling(path: Path) -> Path:
    """A temporary name next to ``path`` with the same suffix (encoders pick formats by suffix)."""
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write HxWx3 uint8 RGB, tagged as synthetic; the file appears whole or not at all.

    PNG gets text chunks and JPEG/TIFF/WebP an EXIF ImageDescription, via Pillow.
    """
    from PIL import Image, PngImagePlugin

    path = check_output_path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise OutputError(f"{path}: cannot write an image with suffix {path.suffix!r}")
    options: dict[str, object] = {}
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        for key, value in METADATA.items():
            info.add_text(key, value)
        options["pnginfo"] = info
    else:
        exif = Image.Exif()
        exif[0x010E] = METADATA["comment"]  # ImageDescription
        options["exif"] = exif
    tmp = temporary_sibling(path)
    try:
        Image.fromarray(image).save(tmp, format=fmt, **options)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
