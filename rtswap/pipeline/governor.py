"""The governor: holds glass-to-glass latency under a budget on whatever machine runs the pipeline.

It watches the frames that reached the output over a sliding window. When their p95 latency is
over the budget, or frames are being dropped (the output falls behind the input), it steps
quality down one level; when p95 is well under the budget and no frame is dropped, it steps back
up. After every change it holds for ``hold_s``, so it judges each level on frames produced
at that level and cannot oscillate faster than that. A level that missed is not tried again for
``retry_s``, doubled each time it misses again, so a machine that cannot sustain a level does
not keep probing it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from rtswap.levels import LEVELS, Level
from rtswap.output.stats import PipelineStats

log = logging.getLogger("rtswap")


def default_budget_ms(fps: float) -> float:
    """2.5 frame intervals of the input."""
    return 2.5 * 1000.0 / fps


@dataclass
class Change:
    at_ns: int
    level: str
    reason: str


@dataclass
class Governor:
    budget_ms: float
    hold_s: float = 2.0
    """Minimum time between two changes; also the window each decision looks at."""
    headroom: float = 0.6
    """Step up only when p95 is under this fraction of the budget."""
    min_delivered: float = 0.95
    """Step down when fewer than this fraction of the input's frames reach the output."""
    settle_s: float = 1.0
    """The first second of output is not judged: a stream's first frames (its faces found, their
    landmarks settled, their first looks) cost the same at every level, and stepping down for them
    lowered quality for the rest of the run."""
    retry_s: float = 8.0
    """How long a level that missed is not stepped up to (doubles with every miss, up to a minute)."""
    levels: tuple[Level, ...] = LEVELS
    index: int = 0
    changes: list[Change] = field(default_factory=list)
    _since_ns: int | None = None
    _retry: dict[int, tuple[int, float]] = field(default_factory=dict)
    """Level index -> (not before this time, the wait after its next miss)."""

    @property
    def level(self) -> Level:
        return self.levels[self.index]

    def observe(self, stats: PipelineStats, now_ns: int) -> None:
        """Look at the last ``hold_s`` of output (called by the output stage after each frame)."""
        if self._since_ns is None:
            self._since_ns = now_ns + int(self.settle_s * 1e9)
        if now_ns - self._since_ns < self.hold_s * 1e9:
            return
        window = stats.window(self._since_ns)
        if window.frames < 2:
            return
        if (window.p95_ms > self.budget_ms or window.delivered < self.min_delivered) and self.index + 1 < len(
            self.levels
        ):
            reason = (
                f"p95 {window.p95_ms:.0f} ms over the {self.budget_ms:.0f} ms budget"
                if window.p95_ms > self.budget_ms
                else f"{100 * (1 - window.delivered):.0f}% of frames dropped"
            )
            wait_s = self._retry.get(self.index, (0, self.retry_s))[1]
            self._retry[self.index] = (now_ns + int(wait_s * 1e9), min(2 * wait_s, 60.0))
            self._change(self.index + 1, now_ns, reason)
        elif (
            window.p95_ms < self.headroom * self.budget_ms
            and window.delivered >= 1.0
            and self.index > 0
            and now_ns >= self._retry.get(self.index - 1, (0, 0.0))[0]
        ):
            self._change(self.index - 1, now_ns, f"p95 {window.p95_ms:.0f} ms, no frame dropped")
        else:
            self._since_ns = max(self._since_ns, now_ns - int(self.hold_s * 1e9))  # slide the window

    def _change(self, index: int, now_ns: int, reason: str) -> None:
        direction = "down" if index > self.index else "up"
        self.index, self._since_ns = index, now_ns
        self.changes.append(Change(now_ns, self.level.name, reason))
        log.info("governor: quality %s to '%s' (%s)", direction, self.level.name, reason)

    def time_at_levels(self, start_ns: int, end_ns: int) -> dict[str, float]:
        """Seconds spent at each level between ``start_ns`` and ``end_ns``."""
        spent = {level.name: 0.0 for level in self.levels}
        current, since = self.levels[0].name, start_ns
        for change in self.changes:
            spent[current] += max(0, min(change.at_ns, end_ns) - max(since, start_ns)) / 1e9
            current, since = change.level, change.at_ns
        spent[current] += max(0, end_ns - max(since, start_ns)) / 1e9
        return {name: round(seconds, 2) for name, seconds in spent.items() if seconds > 0}
