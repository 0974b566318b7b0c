"""The composite step: blends the swapped faces into their crops (the output step pastes them)."""

from __future__ import annotations

from collections.abc import Callable

from rtswap.blend.compositor import Compositor
from rtswap.frame import Frame
from rtswap.levels import Level


class Composite:
    """Sets ``frame.work.changes``: what each face's crop gains from the swap."""

    def __init__(self, compositor: Compositor, level: Callable[[], Level]) -> None:
        """``level``: the governor's current level (how many blend levels it leaves out)."""
        self.compositor, self._level = compositor, level

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        if frame.work is not None:
            self.compositor(frame.work, self._level().blend_levels_fewer)
        return frame
