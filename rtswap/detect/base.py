"""What the detector and face-mesh backends share: their protocols, image and region types, the
scan regions (whole frame and tiles), and merging boxes found in overlapping regions."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import numpy as np
import torch

from rtswap.frame import Detection, Face

_TILE_TARGET_PX = 448
"""Tiles are about this wide: the full-range detector sees 192 px, so a 64 px face in a
1280x720 frame becomes ~24 px in a tile instead of ~10 px in the whole frame."""


_TILE_OVERLAP = 1.3


Region = tuple[int, int, int, int]
"""x0, y0, x1, y1 pixels."""


Pixels = np.ndarray | torch.Tensor
"""An HxWx3 uint8 RGB image: on the host, or a tensor (the torch backend reads it where it is)."""


def host(image: Pixels) -> np.ndarray:
    """The image as a host array (mediapipe's graphs read nothing else)."""
    return image if isinstance(image, np.ndarray) else image.cpu().numpy()


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
