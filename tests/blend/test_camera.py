"""A swapped face as soft and as grainy as the frame it sits in (and no grain on a clean one)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import cv2
import numpy as np
import pytest
import torch

from rtswap.blend.camera import Look, camera_look, match_camera
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.crops import FaceRegions
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


@pytest.fixture(params=["astronaut", "grace hopper"])
def target_and_swapper(
    request: pytest.FixtureRequest,
    astro: np.ndarray,
    grace: np.ndarray,
    grace_swapper: Swapper,
    astro_swapper: Swapper,
) -> tuple[np.ndarray, Swapper]:
    """Each of our faces as the target, with the other as the source."""
    return (astro, grace_swapper) if request.param == "astronaut" else (grace, astro_swapper)


def _inner_face(image: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    face = analyzer.analyze(image)[0]
    return cv2.erode(face_hull(face, image.shape).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0


@pytest.mark.parametrize(
    ("measure", "degradations", "within"),
    [(sharpness, BLURS, (0.75, 1.3)), (grain, NOISES, (0.7, 1.4))],
    ids=["as soft", "as grainy"],
)
def test_a_swapped_face_is_as_soft_and_as_grainy_as_the_frame(
    measure: Callable[[np.ndarray, np.ndarray], float],
    degradations: dict[str, Degrade],
    within: tuple[float, float],
    target_and_swapper: tuple[np.ndarray, Swapper],
    analyzer: FaceAnalyzer,
) -> None:
    """The swap's sharpness (the Laplacian's spread over the face) or grain over the target's: a
    crisp face on a smeared head read as a sticker (2.0-6.3 before), a clean one on a grainy head
    too."""
    clean, swapper = target_and_swapper
    inner = _inner_face(clean, analyzer)
    for name, degrade in degradations.items():
        target = degrade(clean)
        ratio = measure(swapper.swap_image(target), inner) / measure(target, inner)
        assert within[0] <= ratio <= within[1], (name, ratio)


def test_a_clean_camera_gets_no_grain(
    astro: np.ndarray, analyzer: FaceAnalyzer, grace_swapper: Swapper
) -> None:
    """A frame without sensor noise: the astronaut with her photo's grain smoothed away."""
    clean = cv2.GaussianBlur(astro, (0, 0), 1.2)
    with torch.inference_mode():
        work = grace_swapper.face_swap.swap(torch.from_numpy(clean.copy()), analyzer.analyze(clean))
    assert work is not None
    magnified = work.regions.magnification
    frame = work.regions.in_frame(0)
    [(_, _, added)] = camera_look(work.crops, work.swapped, work.mask, [frame], magnified)
    assert added == 0
    noise = torch.randn(frame.shape, generator=torch.Generator().manual_seed(0)) * 6 / 255
    [(_, _, added)] = camera_look(work.crops, work.swapped, work.mask, [frame + noise], magnified)
    assert added > 2 / 255  # the same face from a noisy camera does get grain


def test_a_moving_face_s_own_texture_is_not_read_as_the_sensor_s_noise(
    grace: np.ndarray, analyzer: FaceAnalyzer, astro_swapper: Swapper
) -> None:
    """Grace Hopper's print has a grain of its own, which keeps still on a still face and is not
    the camera's. The grain a look gives is capped by what changed since the frame before, with
    fresh noise (3 levels) in each frame: with the face a quarter of a pixel elsewhere in the crop
    before, her print's grain, moved, passed for a fifth more of the sensor's (1.20x the grain
    read with the face in the same place; 1.07x now)."""
    with torch.inference_mode():
        work = astro_swapper.face_swap.swap(torch.from_numpy(grace.copy()), analyzer.analyze(grace))
    assert work is not None
    magnified = work.regions.magnification
    frame = work.regions.in_frame(0)
    draws = torch.Generator().manual_seed(0)

    def noisy(x: torch.Tensor) -> torch.Tensor:
        return x + torch.randn(x.shape, generator=draws) * 3 / 255

    def moved(crops: torch.Tensor, dx: float) -> torch.Tensor:
        image = crops[0].permute(1, 2, 0).numpy()
        shift = np.array([[1, 0, dx], [0, 1, dx / 2]], np.float32)
        out = cv2.warpAffine(image, shift, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        return torch.from_numpy(out).permute(2, 0, 1)[None]

    grains = []
    for dx in (0.0, 0.25):
        now, before = noisy(work.crops), noisy(moved(work.crops, dx))
        [(_, _, added)] = camera_look(now, work.swapped, work.mask, [noisy(frame)], magnified, [before])
        grains.append(added)
    assert grains[0] > 2 / 255
    assert grains[1] <= 1.12 * grains[0]


def test_a_tracked_face_gets_grain_from_its_second_look_and_keeps_it_when_its_crop_size_changes(
    grace: np.ndarray, analyzer: FaceAnalyzer, astro_swapper: Swapper
) -> None:
    """Grace Hopper's photo with fresh sensor noise (6 levels) on each frame, as one track. Its
    first look has no frame before to tell the sensor's noise from her print's grain, so the face
    gets no grain until the second, two frames later (drawn at the first look's level, it boiled);
    when the crop size changes (the governor), the next look compares with the frame before at the
    new size, and the grain stays (without it, none for the 15 frames until the look after)."""
    face = dataclasses.replace(analyzer.analyze(grace)[0], track_id=0)
    face_swap, draws = astro_swapper.face_swap, np.random.default_rng(0)
    face_swap.new_stream()
    grains, sizes = [], []
    try:
        for i in range(16):
            noisy = (grace + draws.normal(0, 6, grace.shape)).round().clip(0, 255).astype(np.uint8)
            with torch.inference_mode():
                work = face_swap.swap(torch.from_numpy(noisy), [face], max_crop=None if i < 8 else 128)
                assert work is not None
                face_swap.composite(work)
            grains.append(0.0 if work.grain is None else float(work.grain.max()))
            sizes.append(work.crops.shape[-1])
    finally:
        face_swap.new_stream()
    assert sizes[7] > sizes[8] == sizes[-1]
    assert grains[:2] == [0.0, 0.0]
    assert min(grains[2:]) > 2 / 255


def test_detail_finer_than_the_frame_does_not_fold_back_when_pasted() -> None:
    """Stripes one crop pixel wide in a face's change, its crop magnifying the face 1.8x: pasted,
    they are sampled every 1.8 crop pixels and would fold back as stripes about 9 frame pixels wide
    (a pattern that slides against the face as it moves: a shimmer). Filtered for the paste, they
    average out: the frame's spread there 8 levels, 21 pasted as before (unfiltered, bilinearly)."""
    size, magnified = 64, 1.8
    frame = torch.full((80, 80, 3), 128, dtype=torch.uint8)
    to_crop = np.array([[magnified, 0.0, -10.3], [0.0, magnified, -12.7]])
    stripes = 0.15 * torch.cos(torch.pi * torch.arange(size)).expand(1, 3, size, size)
    changes, grain = match_camera(stripes, torch.ones(1, 1, size, size), [Look(0.0, 0.0, 0.0)], [magnified])
    assert grain is None
    FaceRegions(frame, [to_crop], size).paste(frame, changes)
    inside = frame[12:38, 12:38, 0].float()  # well within the crop's footprint (frame pixels 6-42)
    assert inside.std() < 12
