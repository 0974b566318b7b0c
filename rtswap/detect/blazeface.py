"""mediapipe's full-range BlazeFace detector as a batched PyTorch network, on any device.

The network is the ``.tflite`` file the mediapipe wheel ships, run by :class:`TfliteGraph`; the
steps around it are mediapipe's face detection graph (``face_detection_full_range.pbtxt``):
the image letterboxed into a 192 px square (zeros outside, values in [-1, 1]), one anchor per
cell of a 48x48 grid, boxes decoded against the anchors, scores through a sigmoid, and a
weighted non-maximum suppression that averages overlapping boxes by score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from rtswap.detect.tflite_graph import TfliteGraph
from rtswap.geometry.align import warp_affine
from rtswap.geometry.mediapipe_files import mediapipe_file
from rtswap.runtime.cuda_graph import CudaGraphed

INPUT_PX = 192
_GRID = 48
_SCORE_CLIP = 100.0
_CANDIDATE_SCORE = 0.6
"""The graph's own threshold for boxes that go into the suppression (``min_score_thresh``); the
caller's ``min_score`` filters what comes out of it."""
_NMS_IOU = 0.3


def model_path() -> Path:
    return mediapipe_file("modules/face_detection/face_detection_full_range_sparse.tflite")


class BlazeFace(torch.nn.Module):
    """Faces in images. ``forward`` takes a list of (H, W, 3) uint8 RGB tensors (any sizes, on the
    module's device), runs them as one batch, and returns for each an (N, 5) float32 array of face
    boxes x0, y0, x1, y1 in its pixels and their scores, best first.

    The network and the boxes' decoding run on the device; the suppression, a greedy loop over a
    few candidates, runs on the host after one read of every image's candidates (a loop on the
    device would make the host wait for it once per candidate)."""

    def __init__(self, min_score: float = 0.5) -> None:
        super().__init__()
        self.network = TfliteGraph(model_path())
        self._graphed = CudaGraphed(self.network)  # on CUDA one launch a scan
        self.min_score = min_score
        cells = (torch.arange(_GRID, dtype=torch.float32) + 0.5) / _GRID
        y, x = torch.meshgrid(cells, cells, indexing="ij")
        self.anchors: torch.Tensor
        self.register_buffer("anchors", torch.stack([x.flatten(), y.flatten()], dim=1))  # centres, size 1

    def forward(self, images: list[torch.Tensor]) -> list[np.ndarray]:
        squares = [_square(image) for image in images]
        batch = torch.cat(
            [
                warp_affine(image.permute(2, 0, 1)[None].float(), to_image, INPUT_PX, INPUT_PX)
                for image, (to_image, _) in zip(images, squares, strict=True)
            ]
        )
        raw, logits = self._graphed(batch.round() / 127.5 - 1.0)  # mediapipe resamples 8-bit pixels
        candidates = self._decoded(raw, logits).cpu().numpy()  # (B, anchors, 5)
        found = [
            _suppressed(c[c[:, 4] >= _CANDIDATE_SCORE], side) + np.array([*origin, *origin, 0.0], np.float32)
            for c, (_, (origin, side)) in zip(candidates, squares, strict=True)
        ]
        return [faces[faces[:, 4] >= self.min_score] for faces in found]

    def _decoded(self, raw: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """(B, anchors, 5): each anchor's box x0, y0, x1, y1 in [0, 1] of the square input, and
        its score."""
        score = torch.sigmoid(logits[..., 0].clamp(-_SCORE_CLIP, _SCORE_CLIP))
        raw = raw / INPUT_PX
        centre, size = raw[..., :2] + self.anchors, raw[..., 2:4]
        return torch.cat([centre - size / 2, centre + size / 2, score[..., None]], dim=-1)


def _square(image: torch.Tensor) -> tuple[np.ndarray, tuple[tuple[float, float], float]]:
    """The letterbox: the 2x3 map from the input square's pixels to the image's, and the square's
    origin and side in image pixels (the image centred in it, as mediapipe pads)."""
    height, width = image.shape[:2]
    side = float(max(height, width))
    origin = ((width - side) / 2, (height - side) / 2)
    scale = side / INPUT_PX
    return np.array([[scale, 0.0, origin[0]], [0.0, scale, origin[1]]]), (
        origin,
        side,
    )


def _suppressed(candidates: np.ndarray, side: float) -> np.ndarray:
    """mediapipe's weighted NMS: the best remaining box and every box overlapping it by more
    than the threshold become one, their score-weighted mean with the best's score. ``candidates``
    (N, 5) boxes in [0, 1] and scores; returns (M, 5) in pixels of the square of ``side``."""
    candidates = candidates[np.argsort(-candidates[:, 4], kind="stable")]
    boxes, scores = candidates[:, :4], candidates[:, 4]
    merged = []
    remaining = np.ones(len(boxes), dtype=bool)
    for i in range(len(boxes)):
        if not remaining[i]:
            continue
        group = remaining & (_iou(boxes[i], boxes) > _NMS_IOU)
        group[i] = True
        weights = scores[group][:, None]
        box = (boxes[group] * weights).sum(axis=0) / weights.sum()
        merged.append([*(box * side), scores[i]])
        remaining &= ~group
    return np.array(merged, np.float32).reshape(-1, 5)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    top_left = np.maximum(box[:2], boxes[:, :2])
    bottom_right = np.minimum(box[2:], boxes[:, 2:])
    inter = (bottom_right - top_left).clip(min=0).prod(axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
    return inter / np.maximum(area(box) + area(boxes) - inter, 1e-12)
