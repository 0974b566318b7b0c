"""Degraded targets for ``benchmarks/quality.py``: a cheap webcam's picture (motion blur, a dim
room with noise, a dark room) made from our photos (``rtswap.testing.camera``). Per target and
degradation: whether the face is found, the face's sharpness and grain in the swap over the
target's (1: matched), and d(swap, source) beside the undegraded swap's, so that matching the
camera is seen not to cost identity (dlib judges a dark image brightened to a middle grey, the
same gain for target and swap)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.swapper import Swapper
from rtswap.testing.camera import grain, low_light, motion_blurred, sharpness

DEGRADATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "motion blur 15 px": lambda image: motion_blurred(image, 15),
    "dim (x0.35) + noise 6": lambda image: low_light(image, 0.35, 6),
    "dark (x0.18) + noise 10": lambda image: low_light(image, 0.18, 10),
}


@dataclass
class DegradedRow:
    target: str
    degradation: str
    found: bool
    sharpness_ratio: float
    grain_ratio: float
    d_swap_source: float
    d_clean_swap_source: float


def degraded_rows(
    judge: Any, analyzer: FaceAnalyzer, pairs: list[tuple[str, np.ndarray, np.ndarray, Swapper]]
) -> list[DegradedRow]:
    """``pairs``: (target's name, target, source, a swapper with that source)."""
    rows = []
    for name, target, source, swapper in pairs:
        inner = _inner_face(target, analyzer)
        d_source = judge.descriptor(source)
        clean = _distance(judge, swapper.swap_image(target), d_source)
        for degradation, degrade in DEGRADATIONS.items():
            degraded = degrade(target)
            swapped = swapper.swap_image(degraded)
            gain = 0.45 * 255 / max(float(degraded.mean()), 1.0)
            rows.append(
                DegradedRow(
                    name,
                    degradation,
                    bool(analyzer.analyze(degraded)),
                    sharpness(swapped, inner) / sharpness(degraded, inner),
                    grain(swapped, inner) / max(grain(degraded, inner), 1e-6),
                    _distance(judge, np.clip(swapped * gain, 0, 255).astype(np.uint8), d_source),
                    clean,
                )
            )
    return rows


def degraded_table(rows: list[DegradedRow]) -> str:
    head = (
        "| target | degraded | found | sharpness swap/target | grain swap/target | d(swap,source) "
        "| undegraded |\n|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r.target} | {r.degradation} | {'yes' if r.found else 'no'} | {r.sharpness_ratio:.2f} | "
        f"{r.grain_ratio:.2f} | {r.d_swap_source:.3f} | {r.d_clean_swap_source:.3f} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def _inner_face(image: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    face = analyzer.analyze(image)[0]
    hull = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(np.round(face.landmarks[:, :2]).astype(np.int32)), (1,))
    return cv2.erode(hull, np.ones((15, 15), np.uint8)) > 0


def _distance(judge: Any, image: np.ndarray, source: np.ndarray | None) -> float:
    found = judge.descriptor(image)
    return float("nan") if found is None or source is None else float(np.linalg.norm(found - source))
