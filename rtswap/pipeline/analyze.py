"""The analyze stage: face detection spread over frames, tracking on every frame."""

from __future__ import annotations

from rtswap.frame import Frame
from rtswap.vision.detect import FaceDetector, FaceMesh
from rtswap.vision.track import FaceTracker


class Analyze:
    """Finds and follows the faces of each frame: ``frame.faces`` with stable track ids.

    The detector scans the whole frame plus overlapping tiles (for small faces), ~40 ms on a 720p
    frame on CPU: far too slow for every frame, and a spike in latency if done at once. So while
    faces are tracked, the scan is spread over ``detect_every`` frames, a few regions per frame,
    and only faces not yet tracked start new tracks. With no face tracked, every frame gets the
    full scan, so a face is picked up at once.
    """

    def __init__(self, detect_every: int, max_faces: int | None) -> None:
        self.detect_every = detect_every
        self._detector = FaceDetector()
        self._mesh = FaceMesh()
        self._tracker = FaceTracker(self._mesh, max_faces)

    def close(self) -> None:
        self._detector.close()
        self._mesh.close()

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        regions = self._detector.regions(frame.host)
        if len(self._tracker):
            slot = frame.index % self.detect_every
            regions = [r for i, r in enumerate(regions) if i * self.detect_every // len(regions) == slot]
        detections = self._detector.detect(frame.host, regions) if regions else None
        frame.faces = self._tracker.update(frame.host, frame.time_s, detections)
        return frame
