"""A black-and-white source photo has no colour to give: the swap keeps the target's colours
(rosier cheeks, redder lips where the target has them) under the source's light and shade. A
black-and-white target wants none: a colour source's face comes out grey."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Face
from rtswap.swapper import Swapper
from tests.conftest import face_hull


def _black_and_white(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)


def _swapped(source: np.ndarray, target: np.ndarray, analyzer: FaceAnalyzer) -> tuple[np.ndarray, Face]:
    """The target with its face swapped for the source's, and the target's face."""
    with Swapper(source, SwapConfig(), progress=False) as swapper:
        return swapper.swap_image(target), analyzer.analyze(target, 1)[0]


def _colour(image: np.ndarray) -> np.ndarray:
    """(H, W, 2) Lab a and b of an RGB uint8 image, smoothed as the swap's colour is."""
    lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2Lab)
    return cv2.GaussianBlur(lab[..., 1:], (0, 0), 6)


def test_a_black_and_white_source_takes_the_targets_colours(
    astro: np.ndarray, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    out, face = _swapped(_black_and_white(astro), grace, analyzer)
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
    grey = _black_and_white(astro)
    out, face = _swapped(grace, grey, analyzer)
    changed = np.abs(out.astype(int) - grey).max(axis=2) > 8
    assert changed[face_hull(face, grey.shape)].mean() > 0.3  # swapped
    lab = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).astype(np.float32)
    colour = np.hypot(lab[..., 1] - 128, lab[..., 2] - 128)[face_hull(face, grey.shape, grow=0.1)]
    assert np.percentile(colour, 99) < 2  # 8 before (her blue eyes, pink skin)
