"""A swapped face as soft and as grainy as the frame it sits in (and no grain on a clean one)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest
import torch

from rtswap.blend.camera import camera_look
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.swapper import Swapper
from rtswap.testing.camera import defocused, grain, low_light, motion_blurred, sharpness
from tests.conftest import face_hull

Degrade = Callable[[np.ndarray], np.ndarray]
BLURS: dict[str, Degrade] = {
    "moving across, 15 px": lambda image: motion_blurred(image, 15),
    "moving down, 11 px": lambda image: motion_blurred(image, 11, 90),
    "moving diagonally, 11 px": lambda image: motion_blurred(image, 11, 45),
    "out of focus, 3 px": lambda image: defocused(image, 3),
}
NOISES: dict[str, Degrade] = {
    "noisy, 8 levels": lambda image: low_light(image, 1.0, 8),
    "dim, a third of the light, 6 levels": lambda image: low_light(image, 0.35, 6),
}


@pytest.fixture(scope="module")
def astro_swapper(astro: np.ndarray) -> Iterator[Swapper]:
    with Swapper(astro, SwapConfig(device="cpu"), progress=False) as s:
        yield s


def _cases(
    person: str, astro: np.ndarray, grace: np.ndarray, grace_swapper: Swapper, astro_swapper: Swapper
) -> tuple[np.ndarray, Swapper]:
    return (astro, grace_swapper) if person == "astronaut" else (grace, astro_swapper)


def _inner_face(image: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    face = analyzer.analyze(image)[0]
    return cv2.erode(face_hull(face, image.shape).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0


@pytest.mark.parametrize("person", ["astronaut", "grace hopper"])
def test_a_swapped_face_is_as_soft_as_the_frame(
    person: str,
    astro: np.ndarray,
    grace: np.ndarray,
    analyzer: FaceAnalyzer,
    grace_swapper: Swapper,
    astro_swapper: Swapper,
) -> None:
    """Sharpness (the Laplacian's spread over the face) of the swap over the target's: a crisp face
    on a smeared head read as a sticker (2.0-6.3 before)."""
    clean, swapper = _cases(person, astro, grace, grace_swapper, astro_swapper)
    inner = _inner_face(clean, analyzer)
    for name, degrade in BLURS.items():
        target = degrade(clean)
        ratio = sharpness(swapper.swap_image(target), inner) / sharpness(target, inner)
        assert 0.75 <= ratio <= 1.3, (name, ratio)


@pytest.mark.parametrize("person", ["astronaut", "grace hopper"])
def test_a_swapped_face_is_as_grainy_as_the_frame(
    person: str,
    astro: np.ndarray,
    grace: np.ndarray,
    analyzer: FaceAnalyzer,
    grace_swapper: Swapper,
    astro_swapper: Swapper,
) -> None:
    clean, swapper = _cases(person, astro, grace, grace_swapper, astro_swapper)
    inner = _inner_face(clean, analyzer)
    for name, degrade in NOISES.items():
        target = degrade(clean)
        ratio = grain(swapper.swap_image(target), inner) / grain(target, inner)
        assert 0.7 <= ratio <= 1.4, (name, ratio)


def test_a_clean_camera_gets_no_grain(
    astro: np.ndarray, analyzer: FaceAnalyzer, grace_swapper: Swapper
) -> None:
    """A frame without sensor noise: the astronaut with her photo's grain smoothed away."""
    clean = cv2.GaussianBlur(astro, (0, 0), 1.2)
    with torch.inference_mode():
        work = grace_swapper.face_swap.swap(torch.from_numpy(clean.copy()), analyzer.analyze(clean))
    assert work is not None
    magnified = [math.hypot(*work.regions.matrices[0][0, :2])]
    frame = work.regions.in_frame(0)
    [(_, _, added)] = camera_look(work.crops, work.swapped, work.mask, [frame], magnified)
    assert added == 0
    noise = torch.randn(frame.shape, generator=torch.Generator().manual_seed(0)) * 6 / 255
    [(_, _, added)] = camera_look(work.crops, work.swapped, work.mask, [frame + noise], magnified)
    assert added > 2 / 255  # the same face from a noisy camera does get grain
