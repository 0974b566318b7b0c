"""The analysis backends by name (mediapipe's graphs or their PyTorch ports) and ``FaceAnalyzer``:
faces with 478 landmarks in still images."""

from __future__ import annotations

import numpy as np
import torch

from rtswap.detect.base import Detector, Mesh, face_from_landmarks
from rtswap.detect.low_light import for_analysis
from rtswap.detect.mediapipe_graphs import FaceDetector, FaceMesh
from rtswap.errors import InputError
from rtswap.frame import Face

LANDMARKS = ("auto", "mediapipe", "torch")


def landmark_backend(landmarks: str, device: torch.device) -> str:
    """``mediapipe`` (its CPU graphs) or ``torch`` (the PyTorch ports, on ``device``) for
    ``--landmarks``; ``auto`` is torch on CUDA and mediapipe elsewhere (on CPU the ports are
    slower: ``benchmarks/detector.py``)."""
    if landmarks not in LANDMARKS:
        raise InputError(f"--landmarks {landmarks}: choose one of {', '.join(LANDMARKS)}")
    if landmarks == "auto":
        return "torch" if device.type == "cuda" else "mediapipe"
    return landmarks


def make_detector(backend: str, device: torch.device, min_score: float = 0.5) -> Detector:
    if backend == "torch":
        from rtswap.detect.torch_analysis import TorchFaceDetector

        return TorchFaceDetector(device, min_score)
    return FaceDetector(min_score)


def make_mesh(backend: str, device: torch.device) -> Mesh:
    if backend == "torch":
        from rtswap.detect.torch_analysis import TorchFaceMesh

        return TorchFaceMesh(device)
    return FaceMesh()


class FaceAnalyzer:
    """Every face in a still image with its landmarks: a detector and a face mesh together.
    Not thread-safe: one per thread."""

    def __init__(
        self, min_score: float = 0.5, landmarks: str = "mediapipe", device: str | torch.device = "cpu"
    ) -> None:
        on = torch.device(device)
        backend = landmark_backend(landmarks, on)
        self.detector, self.mesh = make_detector(backend, on, min_score), make_mesh(backend, on)

    def close(self) -> None:
        self.detector.close()
        self.mesh.close()

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def analyze(self, image: np.ndarray, max_faces: int | None = None) -> list[Face]:
        """All faces with landmarks, largest first, at most ``max_faces`` (in a dark image, as
        found in a brightened copy: :mod:`rtswap.detect.low_light`)."""
        image = for_analysis(image)
        faces = []
        for det in self.detector.detect(image):
            landmarks = self.mesh.landmarks(image, det.box)
            if landmarks is not None:
                faces.append(face_from_landmarks(landmarks, det.score))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[:max_faces] if max_faces else faces
