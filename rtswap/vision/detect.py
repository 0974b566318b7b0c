"""Face detection (mediapipe BlazeFace, full range, tiled) and 478-point landmarks per face."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np
import torch

from rtswap.errors import InputError
from rtswap.frame import Face

_TILE_TARGET_PX = 448
"""Tiles are about this wide: the full-range detector sees 192 px, so a 64 px face in a
1280x720 frame becomes ~24 px in a tile instead of ~10 px in the whole frame."""
_TILE_OVERLAP = 1.3
_MESH_CROP_PX = 256
_MESH_CROP_SCALE = 1.8
"""The landmark crop is this many times the detected box: enough margin for mediapipe's own
short-range detector inside the face mesh graph, which expects a face near the crop centre."""


Region = tuple[int, int, int, int]
"""x0, y0, x1, y1 pixels."""
Pixels = np.ndarray | torch.Tensor
"""An HxWx3 uint8 RGB image: on the host, or a tensor (the torch backend reads it where it is)."""


def host(image: Pixels) -> np.ndarray:
    """The image as a host array (mediapipe's graphs read nothing else)."""
    return image if isinstance(image, np.ndarray) else image.cpu().numpy()


@dataclass
class Detection:
    box: np.ndarray  # (4,) x0, y0, x1, y1 pixels
    score: float


class FaceDetector:
    """Face boxes in HxWx3 uint8 RGB images (BlazeFace full range on the whole image and on
    overlapping tiles). Not thread-safe: one per thread."""

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        from rtswap.media.samples import astronaut

        # mediapipe's C++ side logs setup notices when a graph is built and first run, straight
        # to fd 2 and regardless of log-level settings: build and run it here, fd 2 silenced.
        with quiet_stderr():
            self._graph = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_score
            )
            self.detect(astronaut())

    def close(self) -> None:
        self._graph.close()

    def regions(self, image: Pixels) -> list[Region]:
        """The regions :meth:`detect` scans by default: the whole image, then overlapping tiles
        when the image is large."""
        return scan_regions(image.shape[1], image.shape[0])

    def detect(self, image: Pixels, regions: list[Region] | None = None) -> list[Detection]:
        """Face boxes found in ``regions`` (default: all of :meth:`regions`), merged by NMS."""
        image = host(image)
        found = []
        for x0, y0, x1, y1 in self.regions(image) if regions is None else regions:
            tile = np.ascontiguousarray(image[y0:y1, x0:x1])
            result = self._graph.process(tile)
            for d in result.detections or []:
                rb = d.location_data.relative_bounding_box
                tw, th = x1 - x0, y1 - y0
                box = np.array(
                    [
                        x0 + rb.xmin * tw,
                        y0 + rb.ymin * th,
                        x0 + (rb.xmin + rb.width) * tw,
                        y0 + (rb.ymin + rb.height) * th,
                    ]
                )
                found.append(Detection(box=box, score=float(d.score[0])))
        return merged(found)


class FaceMesh:
    """478 landmarks (mediapipe face mesh with iris refinement) of the face in a given box.
    Not thread-safe: one per thread.

    The mesh graph finds the face in its crop with a detector of its own before placing the
    landmarks, unless it is following a face: then the previous call's landmarks place them, which
    skips the detector (about a third of the cost). A face followed from frame to frame is named by
    a ``key`` (its track id); each key gets a following graph of its own, from a pool.
    """

    def __init__(self) -> None:
        self._graph = self._new_graph(static=True)
        self._following: dict[int, Any] = {}
        self._idle = [self._new_graph(static=False)]  # ready for the first face

    @staticmethod
    def _new_graph(static: bool) -> Any:
        """A mesh graph, run once: mediapipe's C++ side logs setup notices on the first run,
        straight to fd 2, and the first run is the slow one."""
        import mediapipe as mp

        from rtswap.media.samples import astronaut

        with quiet_stderr():
            graph = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
            )
            graph.process(np.ascontiguousarray(astronaut()[:_MESH_CROP_PX, 100:356]))
        return graph

    def close(self) -> None:
        for graph in [self._graph, *self._following.values(), *self._idle]:
            graph.close()

    def forget(self, key: int) -> None:
        """The face followed as ``key`` is gone: its graph goes back to the pool."""
        graph = self._following.pop(key, None)
        if graph is not None:
            self._idle.append(graph)

    def landmarks(self, image: Pixels, box: np.ndarray, key: int | None = None) -> np.ndarray | None:
        """(478, 3) float32 landmarks of the face in ``box`` (frame pixels), or None if none is there.

        With ``key``, the face is followed from the previous call with that key: the crop is
        centred on the box as before, so the face sits where the graph last saw it. When that
        graph loses it (or is a pooled one that last followed another face), the detector decides.
        """
        image = host(image)
        centre = (box[:2] + box[2:]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * _MESH_CROP_SCALE
        scale = _MESH_CROP_PX / side
        to_crop = np.array(
            [
                [scale, 0.0, _MESH_CROP_PX / 2 - scale * centre[0]],
                [0.0, scale, _MESH_CROP_PX / 2 - scale * centre[1]],
            ]
        )
        crop = cv2.warpAffine(image, to_crop, (_MESH_CROP_PX, _MESH_CROP_PX), flags=cv2.INTER_LINEAR)
        result = self._following_graph(key).process(crop) if key is not None else None
        if result is None or not result.multi_face_landmarks:
            result = self._graph.process(crop)
        if not result.multi_face_landmarks:
            return None
        points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float32)
        points *= _MESH_CROP_PX
        points[:, 0] = (points[:, 0] - to_crop[0, 2]) / scale
        points[:, 1] = (points[:, 1] - to_crop[1, 2]) / scale
        points[:, 2] /= scale
        return points

    def landmarks_many(
        self, image: Pixels, faces: list[tuple[np.ndarray, int | None]]
    ) -> list[np.ndarray | None]:
        """:meth:`landmarks` of each (box, key) face, one after another."""
        image = host(image)
        return [self.landmarks(image, box, key) for box, key in faces]

    def _following_graph(self, key: int) -> Any:
        graph = self._following.get(key)
        if graph is None:
            graph = self._following[key] = self._idle.pop() if self._idle else self._new_graph(static=False)
        return graph


class Detector(Protocol):
    """Face boxes in HxWx3 uint8 RGB images: :class:`FaceDetector` (mediapipe) or its PyTorch
    port."""

    def regions(self, image: Pixels) -> list[Region]: ...
    def detect(self, image: Pixels, regions: list[Region] | None = None) -> list[Detection]: ...
    def close(self) -> None: ...


class Mesh(Protocol):
    """478 landmarks of the faces in given boxes: :class:`FaceMesh` (mediapipe) or its PyTorch
    port."""

    def landmarks(self, image: Pixels, box: np.ndarray, key: int | None = None) -> np.ndarray | None: ...
    def landmarks_many(
        self, image: Pixels, faces: list[tuple[np.ndarray, int | None]]
    ) -> list[np.ndarray | None]: ...
    def forget(self, key: int) -> None: ...
    def close(self) -> None: ...


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
        from rtswap.vision.torch_analysis import TorchFaceDetector

        return TorchFaceDetector(device, min_score)
    return FaceDetector(min_score)


def make_mesh(backend: str, device: torch.device) -> Mesh:
    if backend == "torch":
        from rtswap.vision.torch_analysis import TorchFaceMesh

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
        """All faces with landmarks, largest first, at most ``max_faces``."""
        faces = []
        for det in self.detector.detect(image):
            landmarks = self.mesh.landmarks(image, det.box)
            if landmarks is not None:
                faces.append(face_from_landmarks(landmarks, det.score))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[:max_faces] if max_faces else faces


def face_from_landmarks(landmarks: np.ndarray, score: float, track_id: int = -1) -> Face:
    """A face whose box is its landmarks' bounding box."""
    box = np.concatenate([landmarks[:, :2].min(0), landmarks[:, :2].max(0)]).astype(np.float64)
    return Face(box=box, landmarks=landmarks, score=score, track_id=track_id)


@contextmanager
def quiet_stderr() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def scan_regions(width: int, height: int) -> list[Region]:
    """The whole image, plus a grid of overlapping tiles when the image is large."""
    regions = [(0, 0, width, height)]
    cols, rows = max(1, round(width / _TILE_TARGET_PX)), max(1, round(height / _TILE_TARGET_PX))
    if cols * rows == 1:
        return regions
    tile_w = min(width, math.ceil(width / cols * _TILE_OVERLAP))
    tile_h = min(height, math.ceil(height / rows * _TILE_OVERLAP))
    for r in range(rows):
        for c in range(cols):
            x0 = round(c * (width - tile_w) / max(cols - 1, 1))
            y0 = round(r * (height - tile_h) / max(rows - 1, 1))
            regions.append((x0, y0, x0 + tile_w, y0 + tile_h))
    return regions


def iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def merged(detections: list[Detection], iou_threshold: float = 0.3) -> list[Detection]:
    """The best of each group of overlapping boxes (from overlapping regions of a scan)."""
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(iou(det.box, k.box) < iou_threshold for k in kept):
            kept.append(det)
    return kept
