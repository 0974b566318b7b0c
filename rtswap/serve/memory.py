"""Handing memory that a session freed back to the system.

A session's pipeline threads allocate through glibc's per-thread arenas; what they free stays in
the arenas (reused, but counted in the process's resident memory) after the threads are gone. On
a server whose sessions come and go, resident memory then wandered between 1.06 and 1.41 GB over a
half-hour soak: in-process, 14 sessions one after another left 0.85-1.01 GB resident, 0.59-0.70 GB
after ``malloc_trim``. So the server trims when a session ends (docs/speed.md, "Soak", says what
memory does since). Elsewhere than glibc (macOS, musl) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return trim


def release_freed() -> None:
    """Return the memory freed in every arena to the system (glibc's ``malloc_trim(0)``)."""
    trim = _trim()
    if trim is not None:
        trim(0)
