"""A black-and-white source photo has no colour to give: the swap keeps the target's colours
(rosier cheeks, redder lips where the target has them) under the source's light and shade. A
black-and-white target wants none: a colour source's face comes out grey."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.swapper import Swapper
from tests.conftest import face_hull


def _colour(image: np.ndarray) -> np.ndarray:
    """(H, W, 2) Lab a and b of an RGB uint8 image, smoothed as the swap's colour is."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return cv2.GaussianBlur(lab[..., 1:], (0, 0), 6)


def test_a_black_and_white_source_takes_the_targets_colours(
    astro: np.ndarray, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    with Swapper(grey, SwapConfig(), progress=False) as swapper:
        out = swapper.swap_image(grace)
    face = analyzer.analyze(grace, 1)[0]
    r = round(0.1 * face.height)
    inside = cv2.erode(face_hull(face, grace.shape).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1))) > 0
    swap, target = _colour(out)[inside], _colour(grace)[inside]
    for channel in range(2):  # the target's colour, place by place: not one tint over the face
        assert np.corrcoef(swap[:, channel], target[:, channel])[0, 1] > 0.95
    assert np.abs(swap.mean(0) - target.mean(0)).max() < 3
    outside = ~face_hull(face, grace.shape, grow=0.1)
    assert np.array_equal(out[outside], grace[outside])


def test_a_colour_source_on_a_black_and_white_target_comes_out_grey(
    astro: np.ndarray, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(astro, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    with Swapper(grace, SwapConfig(), progress=False) as swapper:
        out = swapper.swap_image(grey)
    face = analyzer.analyze(grey, 1)[0]
    changed = np.abs(out.astype(int) - grey).max(axis=2) > 8
    assert changed[face_hull(face, grey.shape)].mean() > 0.3  # swapped
    lab = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).astype(np.float32)
    colour = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)[face_hull(face, grey.shape, grow=0.1)]
    assert np.percentile(colour, 99) < 2  # 6 at the 95th (her blue eyes, pink skin) before
