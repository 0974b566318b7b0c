"""The capture step: reads the source and stamps each frame."""

from __future__ import annotations

import torch

from rtswap.capture.base import Source
from rtswap.frame import Frame, now_ns


class Capture:
    """Reads the source; each frame gets its index, capture time and a device copy."""

    def __init__(self, source: Source, device: torch.device) -> None:
        self.source, self.device = source, device
        self.count, self.first_ns, self.last_ns = 0, 0, 0

    def __call__(self, _: Frame | None) -> Frame | None:
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
