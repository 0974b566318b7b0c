"""The detect step: face detection spread over frames, and hands on some of them."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

import torch

from rtswap.background import Background, FramePath
from rtswap.detect.analyzer import make_detector
from rtswap.detect.base import Detection, Pixels, Region
from rtswap.detect.hands import HandWatch
from rtswap.detect.low_light import analysis_image
from rtswap.device import CPU
from rtswap.frame import Frame


class Detect:
    """Attaches ``frame.detections``: face boxes in some regions of the frame, or None; and,
    with ``hands``, ``frame.hands`` (:class:`~rtswap.detect.hands.HandWatch`).

    The detector scans the whole frame plus overlapping tiles (for small faces): on a CPU far too
    slow for every frame (docs/speed.md), and a spike in latency if done at once. While
    faces are tracked, the detector only looks for new ones: it scans the whole frame once every
    ``detect_every`` frames, and halfway between, one tile in turn. A face large enough for the
    whole-frame scan (about 100 px and up at 720p) is picked up within ``detect_every`` frames, a
    smaller one within that times the number of tiles. With no face tracked, every frame gets the
    full scan, so a face is picked up at once.
    """

    def __init__(
        self,
        detect_every: int,
        tracking: Callable[[], int],
        slower: Callable[[], int],
        landmarks: str,
        device: torch.device,
        hands: bool,
        live: FramePath | None = None,
    ) -> None:
        """``tracking``: how many faces the track step followed in its latest frame (read on
        another thread); ``slower``: how many times further the governor spreads the sweep now;
        ``landmarks``: the analysis backend, ``mediapipe`` or ``torch`` (on ``device``);
        ``hands``: look for hands too (in mediapipe's CPU graph, on the host image); ``live``: a
        live stream's frames: those looks and the scans for new faces run off the frame path, in
        its slack (:mod:`rtswap.background`)."""
        self.detect_every, self._tracking, self._slower = detect_every, tracking, slower
        self._detector = make_detector(landmarks, device)
        self._detecting = threading.Lock()
        """The detector runs on the frame path (no face tracked) and on the scans' thread."""
        self._scans = None if live is None else Background(device, live)
        self.scan_times = None if self._scans is None else self._scans.times
        """The background scans' costs and ages (live); else None."""
        self._found: queue.SimpleQueue[list[Detection]] = queue.SimpleQueue()
        """What background scans found, for the next frame."""
        self._on_device = landmarks == "torch"
        self._hands = None
        if hands:
            looks = None if live is None else Background(CPU, live)  # mediapipe's CPU graph, host images
            self._hands = HandWatch(background=looks)
        self.hand_look_times = None if self._hands is None else self._hands.look_times
        """The background hand looks' costs and ages (live with hands); else None."""

    def close(self) -> None:
        if self._scans is not None:
            self._scans.close()  # before the detector it uses
        self._detector.close()
        if self._hands is not None:
            self._hands.close()

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        image = analysis_image(frame, self._on_device)
        regions = self._detector.regions(image)
        if self._tracking():
            regions = _sweep(regions, frame.index, self.detect_every * self._slower())
            if self._scans is not None:
                if regions:
                    self._scan_in_background(image, regions)
                regions, frame.detections = [], self._found_so_far()
        if regions:
            frame.detections = self._detect(image, regions)
        if self._hands is not None:
            frame.hands = self._hands(frame.host_image, self._slower())
        return frame

    def _detect(self, image: Pixels, regions: list[Region]) -> list[Detection]:
        with self._detecting:
            return self._detector.detect(image, regions)

    def _scan_in_background(self, image: Pixels, regions: list[Region]) -> None:
        assert self._scans is not None
        self._scans.submit(lambda: self._found.put(self._detect(image, regions)))

    def _found_so_far(self) -> list[Detection] | None:
        """What the background scans have found since the last frame (None: nothing)."""
        found: list[Detection] = []
        while not self._found.empty():
            found += self._found.get()
        return found or None


def _sweep(regions: list[Region], index: int, every: int) -> list[Region]:
    """The regions that frame ``index`` scans while faces are tracked: the whole frame
    (``regions[0]``) once every ``every`` frames, and halfway between, the next tile."""
    whole, tiles = regions[0], regions[1:]
    if every < 2 or index % every == 0:
        return [whole] if every >= 2 else regions
    if tiles and index % every == every // 2:
        return [tiles[(index // every) % len(tiles)]]
    return []
