"""What every frame sink provides."""

from __future__ import annotations

import numpy as np

from rtswap.frame import Frame


class Sink:
    """Receives every output frame, on the output stage's thread."""

    def write(self, image: np.ndarray, frame: Frame) -> None:
        """``image``: HxWx3 uint8 RGB, labelled, the final pixels of ``frame``."""
        raise NotImplementedError

    def pump(self) -> bool:
        """Called often on the main thread (GUI work must happen there); False asks to stop."""
        return True

    def close(self) -> None:
        """Finish: flush and release."""

    def abort(self) -> None:
        """The run failed: release, leaving no half-written output behind."""
        self.close()


class NullSink(Sink):
    """Discards frames (benchmarks)."""

    def write(self, image: np.ndarray, frame: Frame) -> None:
        pass
