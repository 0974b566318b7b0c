"""The PyTorch port of mediapipe's full-range face detector against mediapipe itself."""

from __future__ import annotations

from pathlib import Path

import cv2
import mediapipe
import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.detect.blazeface import BlazeFace
from rtswap.detect.mediapipe_graphs import FaceDetector
from rtswap.detect.tflite_graph import TfliteGraph
from rtswap.errors import InputError


def _scenes(astro: np.ndarray, grace: np.ndarray, head: SyntheticHead) -> dict[str, np.ndarray]:
    pair = np.full((400, 760, 3), 180, np.uint8)  # two faces in one frame
    pair[40:360, 20:340] = cv2.resize(astro, (320, 320), interpolation=cv2.INTER_AREA)
    scaled = cv2.resize(grace, (320 * grace.shape[1] // grace.shape[0], 320), interpolation=cv2.INTER_AREA)
    pair[40:360, 400 : 400 + scaled.shape[1]] = scaled[:, :340]
    small = np.full((720, 1280, 3), 120, np.uint8)  # a 55 px face in 720p: found only in the tiles
    small[300:556, 600:856] = cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA)
    return {
        "frontal": astro,
        "letterboxed": grace,
        "turned left": head.render(Motion(yaw=-30)),
        "turned right, tilted up": head.render(Motion(yaw=35, pitch=10)),
        "two faces": pair,
        "small, in tiles": small,
    }


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.prod(np.clip(np.minimum(a[2:], b[2:]) - np.maximum(a[:2], b[:2]), 0, None))
    return float(inter / (np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter))


@pytest.fixture(scope="module")
def ported() -> BlazeFace:
    return BlazeFace(min_score=0.5).eval()


def test_detections_match_mediapipes(
    ported: BlazeFace, astro: np.ndarray, grace: np.ndarray, head: SyntheticHead
) -> None:
    """Every region the detector scans (the whole frame, and tiles of large ones), all in one
    batch: the same faces as mediapipe's own graph, boxes at IoU >= 0.9, scores within 0.01."""
    reference = FaceDetector(min_score=0.5)
    try:
        for name, image in _scenes(astro, grace, head).items():
            regions = reference.regions(image)
            with torch.inference_mode():
                ours = ported([torch.from_numpy(image[y0:y1, x0:x1].copy()) for x0, y0, x1, y1 in regions])
            for (x0, y0, x1, y1), found in zip(regions, ours, strict=True):
                theirs = reference.detect(image, [(x0, y0, x1, y1)])
                assert len(found) == len(theirs), name
                for detection in theirs:
                    best = max(found, key=lambda f: _iou(f[:4] + [x0, y0, x0, y0], detection.box))  # noqa: B023
                    assert _iou(best[:4] + [x0, y0, x0, y0], detection.box) >= 0.9, name
                    assert abs(best[4] - detection.score) <= 0.01, name
            assert sum(len(found) for found in ours) > 0, name
    finally:
        reference.close()


def test_a_batch_gives_what_each_image_gives_alone(
    ported: BlazeFace, astro: np.ndarray, grace: np.ndarray
) -> None:
    images = [torch.from_numpy(astro), torch.from_numpy(grace)]
    with torch.inference_mode():
        together = ported(images)
        alone = [ported([image])[0] for image in images]
    for a, b in zip(together, alone, strict=True):
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-3)


def test_an_operator_outside_the_port_is_refused_by_name() -> None:
    path = Path(mediapipe.__file__).parent / "modules/hand_landmark/hand_landmark_full.tflite"
    with pytest.raises(InputError, match="hand_landmark_full.tflite: operator MEAN is not supported"):
        TfliteGraph(path)
