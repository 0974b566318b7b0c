"""The capture step: reads the source and stamps each frame."""

from __future__ import annotations

from collections.abc import Callable

import torch

from rtswap.capture.base import Source
from rtswap.frame import Frame, now_ns


class Capture:
    """Reads the source; each frame gets its index, capture time and a device copy."""

    def __init__(
        self, source: Source, device: torch.device, first_through: Callable[[], bool] | None = None
    ) -> None:
        """``first_through``: live input waits on it before reading the second frame (False: the
        run stopped meanwhile). A new face's first frame costs several frames' work (found, its
        landmarks settled, its first looks made); with the next frames captured meanwhile, the
        rings dropped them, a stutter at the start of every run. Paced sources go on from when
        they are read again (:class:`~rtswap.capture.base.Pacer`); a camera's newest frame wins."""
        self.source, self.device, self._first_through = source, device, first_through
        self.count, self.first_ns, self.last_ns = 0, 0, 0

    def __call__(self, _: Frame | None) -> Frame | None:
        if self.count == 1 and self._first_through is not None and not self._first_through():
            return None
        decoded = self.source.read()
        if decoded is None:
            return None
        captured = now_ns()
        if isinstance(decoded.image, torch.Tensor):  # already a tensor, maybe on the device
            host, image = None, decoded.image.to(self.device, non_blocking=True)
        else:
            host, pixels = decoded.image, torch.from_numpy(decoded.image)
            image = (pixels.pin_memory() if self.device.type == "cuda" else pixels).to(
                self.device, non_blocking=True
            )
        frame = Frame(
            index=self.count,
            capture_ns=captured,
            image=image,
            host=host,
            pts=decoded.pts,
            time_base=self.source.info.time_base,
        )
        self.first_ns = self.first_ns or captured
        self.count, self.last_ns = self.count + 1, captured
        return frame
