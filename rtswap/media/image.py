"""Still images: decode with clear errors, write atomically."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from rtswap.errors import InputError, OutputError
from rtswap.media.label import METADATA

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | Path) -> np.ndarray:
    """HxWx3 uint8 RGB. Raises InputError for a missing, unreadable or non-image file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"{path}: not a readable image (corrupt, empty or not an image format)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def check_output_path(path: str | Path) -> Path:
    """The output's folder must exist; the file itself is only written when the work succeeds."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"{path}: folder {path.parent} does not exist")
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
