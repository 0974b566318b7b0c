"""The ``warp`` engine's source texture."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.topology import MOUTH_HOLE
from rtswap.swapper import Swapper


def test_a_smiling_sources_teeth_stay_out_of_a_closed_mouth(
    grace: np.ndarray, astro_swapper: Swapper, darker_astro_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """The astronaut smiles with her teeth; onto Grace Hopper's closed mouth the lips' inner edges
    drew them as a light line between the lips, glowing white from the darker-skinned variant
    (the line's upper tenth at luma 193 and 254 against the lips' 123 and 148). The line is the
    target's own now, as dark as the lips round it."""
    landmarks = analyzer.analyze(grace)[0].landmarks
    line = np.zeros(grace.shape[:2], np.uint8)
    cv2.polylines(line, [np.round(landmarks[MOUTH_HOLE, :2]).astype(np.int32)], True, (1,), 2)
    lips = cv2.dilate(line, np.ones((9, 9), np.uint8)) - cv2.dilate(line, np.ones((3, 3), np.uint8))
    for swapper in (astro_swapper, darker_astro_swapper):
        luma = cv2.cvtColor(swapper.swap_image(grace), cv2.COLOR_RGB2GRAY).astype(float)
        assert np.percentile(luma[line > 0], 90) < np.median(luma[lips > 0]) + 10  # (+0, -4)
