"""Face detection (mediapipe BlazeFace, full range, tiled) and 478-point landmarks per face."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from rtswap.frame import Face

_TILE_TARGET_PX = 448
"""Tiles are about this wide: the full-range detector sees 192 px, so a 64 px face in a
1280x720 frame becomes ~24 px in a tile instead of ~10 px in the whole frame."""
_TILE_OVERLAP = 1.3
_MESH_CROP_PX = 256
_MESH_CROP_SCALE = 1.8
"""The landmark crop is this many times the detected box: enough margin for mediapipe's own
short-range detector inside the face mesh graph, which expects a face near the crop centre."""


@dataclass
class Detection:
    box: np.ndarray  # (4,) x0, y0, x1, y1 pixels
    score: float


class FaceAnalyzer:
    """Finds faces and their landmarks in HxWx3 uint8 RGB images. Not thread-safe: one per thread."""

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        from rtswap.media.samples import astronaut

        # mediapipe's C++ side logs setup notices when graphs are built and first run, straight
        # to fd 2 and regardless of log-level settings: build and run both here, fd 2 silenced.
        with _quiet_stderr():
            self._detector = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_score
            )
            self._mesh = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=True, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
            )
            self.analyze(astronaut())

    def close(self) -> None:
        self._detector.close()
        self._mesh.close()

    def __enter__(self) -> FaceAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def analyze(self, image: np.ndarray, max_faces: int | None = None) -> list[Face]:
        """All faces with landmarks, largest first, at most ``max_faces``."""
        faces = []
        for det in self.detect(image):
            landmarks = self.landmarks(image, det.box)
            if landmarks is not None:
                faces.append(Face(box=_landmark_box(landmarks), landmarks=landmarks, score=det.score))
        faces.sort(key=lambda f: f.area, reverse=True)
        return faces[:max_faces] if max_faces else faces

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Face boxes from the whole image and from overlapping tiles, merged by NMS."""
        height, width = image.shape[:2]
        found = []
        for x0, y0, x1, y1 in _tiles(width, height):
            tile = np.ascontiguousarray(image[y0:y1, x0:x1])
            result = self._detector.process(tile)
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
        return _nms(found, iou_threshold=0.3)

    def landmarks(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """(478, 3) float32 landmarks of the face in ``box`` (frame pixels), or None if none is there."""
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
        result = self._mesh.process(crop)
        if not result.multi_face_landmarks:
            return None
        points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float32)
        points *= _MESH_CROP_PX
        points[:, 0] = (points[:, 0] - to_crop[0, 2]) / scale
        points[:, 1] = (points[:, 1] - to_crop[1, 2]) / scale
        points[:, 2] /= scale
        return points


@contextmanager
def _quiet_stderr() -> Iterator[None]:
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


def _tiles(width: int, height: int) -> list[tuple[int, int, int, int]]:
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


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _nms(detections: list[Detection], iou_threshold: float) -> list[Detection]:
    kept: list[Detection] = []
    for det in sorted(detections, key=lambda d: d.score, reverse=True):
        if all(_iou(det.box, k.box) < iou_threshold for k in kept):
            kept.append(det)
    return kept


def _landmark_box(landmarks: np.ndarray) -> np.ndarray:
    return np.concatenate([landmarks[:, :2].min(0), landmarks[:, :2].max(0)]).astype(np.float64)
