"""Errors a user can cause. The CLI prints each as one line and exits non-zero.

Each class also derives from the builtin that describes it, so callers of the Python
API can catch ``ValueError`` or ``OSError`` without knowing about rtswap.
"""

from __future__ import annotations

from pathlib import Path


class RtswapError(Exception):
    """Base of every error rtswap raises on purpose."""


class InputError(RtswapError, ValueError):
    """An input file or argument cannot be used (missing, unreadable, wrong kind)."""


class TooLargeError(InputError):
    """An input larger than rtswap reads (an image's pixels, a body's bytes)."""


class NoFaceError(RtswapError, ValueError):
    """No face was found where one is required (usually the source)."""


class MediaError(RtswapError, OSError):
    """A video or image could not be decoded or encoded (corrupt, truncated, unsupported)."""


class OutputError(RtswapError, OSError):
    """An output cannot be written (missing folder, not writable)."""


class ModelLoadError(RtswapError, OSError):
    """A model file is missing, truncated, of another layout, or refused (a pickle that would
    run code)."""


class DependencyError(RtswapError, ImportError):
    """An optional extra that the chosen engine or backend needs is not installed."""


def require_file(path: Path, error: type[RtswapError] = InputError, hint: str = "") -> None:
    """``error`` in one line, ending with ``hint`` in brackets, unless ``path`` is a file: a
    folder is named as one (it is there)."""
    if not path.is_file():
        what = "a folder, not a file" if path.is_dir() else "no such file"
        raise error(f"{path}: {what}" + (f" ({hint})" if hint else ""))
