"""The analysis stages: face detection spread over frames, then tracking on every frame.

Two stages, so that the detector (on frame n) and the face mesh (on frame n-1) run at the same time.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from rtswap.frame import Frame
from rtswap.pipeline.governor import Level
from rtswap.vision.detect import Region, make_detector, make_mesh
from rtswap.vision.hands import HandWatch
from rtswap.vision.track import FaceTracker


class Track:
    """Follows the faces from frame to frame: ``frame.faces`` with stable track ids, starting
    tracks for the detections :class:`Detect` attached."""

    def __init__(self, max_faces: int | None, landmarks: str, device: torch.device) -> None:
        """``landmarks``: the analysis backend, ``mediapipe`` or ``torch`` (on ``device``)."""
        self._mesh = make_mesh(landmarks, device)
        self._tracker = FaceTracker(self._mesh, max_faces)
        self._on_device = landmarks == "torch"
        self.tracking = 0
        """Faces tracked in the latest frame (read by :class:`Detect` on another thread)."""

    def close(self) -> None:
        self._mesh.close()

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        image = frame.image if self._on_device else frame.host_image()
        frame.faces = self._tracker.update(image, frame.time_s, frame.detections)
        self.tracking = len(frame.faces)
        return frame


class Detect:
    """Attaches ``frame.detections``: face boxes in some regions of the frame, or None; and,
    with ``hands``, ``frame.hands`` (:class:`~rtswap.vision.hands.HandWatch`).

    The detector scans the whole frame plus overlapping tiles (for small faces), ~35 ms on a 720p
    frame on CPU: far too slow for every frame, and a spike in latency if done at once. While
    faces are tracked, the detector only looks for new ones: it scans the whole frame once every
    ``detect_every`` frames, and halfway between, one tile in turn. A face large enough for the
    whole-frame scan (about 100 px and up at 720p) is picked up within ``detect_every`` frames, a
    smaller one within that times the number of tiles. With no face tracked, every frame gets the
    full scan, so a face is picked up at once.
    """

    def __init__(
        self,
        detect_every: int,
        track: Track,
        level: Callable[[], Level],
        landmarks: str,
        device: torch.device,
        hands: bool,
    ) -> None:
        """``level``: the governor's current level, which may spread the sweep further;
        ``landmarks``: the analysis backend, ``mediapipe`` or ``torch`` (on ``device``);
        ``hands``: look for hands too (in mediapipe's CPU graph, on the host image)."""
        self.detect_every, self._track, self._level = detect_every, track, level
        self._detector = make_detector(landmarks, device)
        self._on_device = landmarks == "torch"
        self._hands = HandWatch() if hands else None

    def close(self) -> None:
        self._detector.close()
        if self._hands is not None:
            self._hands.close()

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        image = frame.image if self._on_device else frame.host_image()
        regions = self._detector.regions(image)
        if self._track.tracking:
            regions = _sweep(regions, frame.index, self.detect_every * self._level().detect_slower)
        frame.detections = self._detector.detect(image, regions) if regions else None
        if self._hands is not None:
            frame.hands = self._hands(frame.host_image, self._level().detect_slower)
        return frame


def _sweep(regions: list[Region], index: int, every: int) -> list[Region]:
    """The regions that frame ``index`` scans while faces are tracked: the whole frame
    (``regions[0]``) once every ``every`` frames, and halfway between, the next tile."""
    whole, tiles = regions[0], regions[1:]
    if every < 2 or index % every == 0:
        return [whole] if every >= 2 else regions
    if tiles and index % every == every // 2:
        return [tiles[(index // every) % len(tiles)]]
    return []
