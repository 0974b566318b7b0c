"""The generate step: the engine swaps each tracked face in its aligned crop."""

from __future__ import annotations

from collections.abc import Callable

from rtswap.frame import Frame, SwapWork
from rtswap.generate.face_swap import FaceSwap, Restore
from rtswap.levels import Level


class Generate:
    """Sets ``frame.work``: the faces' crops and the engine's swapped faces. At a level that
    swaps only every n-th frame, the frames between re-use the last swap on the faces' new
    positions; at one that restores only every n-th, what the restorer changed last."""

    def __init__(self, face_swap: FaceSwap, level: Callable[[], Level]) -> None:
        """``level``: the governor's current level (crop size, how often the engine runs)."""
        self.face_swap, self._level = face_swap, level
        self._last: SwapWork | None = None

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        level = self._level()
        reuse = self._last if frame.index % level.swap_every else None
        every = level.restore_every
        restore: Restore = "off" if every == 0 else "again" if frame.index % every else "run"
        frame.work = self.face_swap.swap(
            frame.image, frame.faces, level.max_crop, reuse, frame.hands, restore
        )
        self._last = frame.work
        return frame
