"""A preview window (OpenCV HighGUI) with a live FPS / latency / faces overlay."""

from __future__ import annotations

import threading

import cv2
import numpy as np

from rtswap.frame import Frame
from rtswap.media.label import text_box
from rtswap.output.base import Sink
from rtswap.output.checks import check_display
from rtswap.output.stats import PipelineStats

TITLE = "rtswap (q to quit)"


def overlay_text(stats: PipelineStats) -> str:
    fps, p50, p95 = stats.recent()
    held = f" ({stats.held} held)" if stats.held else ""
    text = f"{fps:4.1f} fps | latency p50 {p50:3.0f} ms p95 {p95:3.0f} ms | faces {stats.faces}{held}"
    return f"{text} | quality: {stats.level}" if stats.level else text


class WindowSink(Sink):
    """Shows the newest frame. GUI calls happen in :meth:`pump`, on the main thread, as macOS and
    Qt require; the output stage only hands the frame over. ``q``, Esc or closing the window stops."""

    def __init__(self, stats: PipelineStats) -> None:
        check_display()
        self.stats = stats
        self._latest: np.ndarray | None = None
        self._lock = threading.Lock()
        self._shown = False

    def write(self, image: np.ndarray, frame: Frame) -> None:
        with self._lock:
            self._latest = image

    def pump(self) -> bool:
        with self._lock:
            image, self._latest = self._latest, None
        if image is not None:
            view = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
            cv2.imshow(TITLE, text_box(view, overlay_text(self.stats), "top-left"))
            self._shown = True
        if not self._shown:
            return True
        key = cv2.waitKey(1) & 0xFF
        closed = cv2.getWindowProperty(TITLE, cv2.WND_PROP_VISIBLE) < 1
        return key not in (ord("q"), 27) and not closed

    def close(self) -> None:
        if self._shown:
            cv2.destroyWindow(TITLE)
            cv2.waitKey(1)
