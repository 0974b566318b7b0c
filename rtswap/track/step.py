"""The track step: follows the faces from frame to frame, on every frame.

A stage of its own, so that the face mesh (on frame n-1) and the detector (on frame n) run at the
same time.
"""

from __future__ import annotations

import torch

from rtswap.detect.analyzer import make_mesh
from rtswap.detect.low_light import analysis_image
from rtswap.frame import Frame
from rtswap.track.tracker import FaceTracker


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
        image = analysis_image(frame, self._on_device)  # made by the detect stage
        frame.faces = self._tracker.update(image, frame.time_s, frame.detections)
        self.tracking = len(frame.faces)
        return frame
