"""Keeping a long-running server's memory from creeping as sessions come and go (glibc only).

A session's pipeline threads allocate through glibc's arenas, by default up to eight per core,
each thread sticking to one. What a thread frees stays in its arena, reused only by the threads
that later share it, and counted in the process's resident memory. In one process, pairs of
sessions one after another (docs/speed.md, "Soak") left 598-652 MB resident after each pair with
glibc's defaults, 516-568 MB with at most four arenas; no session's pipeline or peer connection
outlived it. So the server limits the arenas when it starts and trims them when a session ends.
Elsewhere than glibc (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

_ARENAS = 4
"""glibc arenas the server allocates from: with 2, unpaced frames ran 2-9% slower in a pair of
runs (within this machine's noise); more let freed memory scatter."""
_M_ARENA_MAX = -8
"""``mallopt``'s parameter number for the most arenas (malloc.h)."""


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (has ``malloc_trim`` and ``mallopt``)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas() -> None:
    """Let the threads started from now on share at most :data:`_ARENAS` arenas."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, _ARENAS)


def release_freed() -> None:
    """Return the memory freed in every arena to the system (glibc's ``malloc_trim(0)``)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
