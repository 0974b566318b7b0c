"""What several commands say: counts, the live pipeline's latency line, and what to expect of a
neural engine on the CPU."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rtswap.output.stats import Summary
    from rtswap.swapper import Swapper

log = logging.getLogger("rtswap")


def plural(n: int, noun: str) -> str:
    """``n`` ``noun``, plural unless ``n`` is 1: 1 frame, 2 frames."""
    return f"{n} {noun}{'s' * (n != 1)}"


class StatusLine(logging.Filter):
    """A status line on stderr, rewritten in place once a second. A log message (the governor's
    notes) first ends it, so the two never share a line: while it is entered, it filters the
    logging handlers."""

    def __init__(self) -> None:
        super().__init__()
        self._showing = False

    def show(self, text: str) -> None:
        print(f"\r{text}", end="", file=sys.stderr, flush=True)
        self._showing = True

    def end(self) -> None:
        if self._showing:
            print(file=sys.stderr, flush=True)
            self._showing = False

    def filter(self, record: logging.LogRecord) -> bool:
        self.end()
        return True

    def __enter__(self) -> StatusLine:
        for handler in logging.getLogger().handlers:
            handler.addFilter(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.end()
        for handler in logging.getLogger().handlers:
            handler.removeFilter(self)


def latency_line(summary: Summary, dropped: int) -> str:
    latency = summary.latency_ms
    return (
        f"{summary.fps_out:.1f} fps out, glass-to-glass latency p50 {latency['p50']:.0f} ms, "
        f"p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} ms, {dropped} frames dropped"
    )


def note_neural_on_cpu(swapper: Swapper) -> None:
    """Live work with a neural engine on the CPU: say once what to expect."""
    engine = swapper.face_swap.engine
    if engine.name != "warp" and swapper.device.type == "cpu":
        log.warning(
            "%s on the CPU takes a second or more per face (docs/speed.md): live output will be a few "
            "frames a second; a CUDA device (--device cuda) or --engine warp keeps up",
            engine.name,
        )
