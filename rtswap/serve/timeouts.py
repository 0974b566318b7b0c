"""When the server ends a session that holds a slot without using it (readable by ``--help``,
which imports nothing heavy)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    connect_s: float = 20.0
    """A session not connected this long after its answer is ended..."""
    frames_s: float = 10.0
    """...and so is one whose video delivers no frame for this long."""


DEFAULT = Timeouts()
