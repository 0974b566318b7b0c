"""A face half covered (a mask, a scarf, a microphone over the mouth and nose): the cover stays
on top, the visible upper face is swapped, and the cover's colour does not tint it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from rtswap.cli import main
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Face
from rtswap.geometry.landmarks import LEFT_EYE_OUTER, RIGHT_EYE_OUTER
from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.testing.occluders import (
    BROW_TOPS,
    MASK_COLOURS,
    with_face_mask,
    with_microphone,
    with_scarf,
)
from tests.conftest import face_hull, write_video

Cover = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def _mask(colour: str, texture: str = "flat", size: float = 1.0) -> Cover:
    return lambda image, landmarks: with_face_mask(image, landmarks, MASK_COLOURS[colour], texture, size)


COVERS: dict[str, Cover] = {
    **{f"{colour} mask": _mask(colour) for colour in MASK_COLOURS},
    "pleated blue mask": _mask("blue", "pleated"),
    "patterned white mask": _mask("white", "patterned"),
    "smaller blue mask": _mask("blue", size=0.9),
    "scarf": with_scarf,
    "microphone": with_microphone,
}


def _turned(image: np.ndarray) -> np.ndarray:
    """Smaller in the frame and tilted: the face at another size and angle."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 8, 0.75)
    return cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)


def _upper_face(face: Face, shape: tuple[int, ...], from_brows: bool = False) -> np.ndarray:
    """HxW bool: the face above the bridge of its nose (measured across the face, turned with it),
    from the tops of the brows and between the eyes' outer corners if told."""
    corners = face.landmarks[[LEFT_EYE_OUTER, RIGHT_EYE_OUTER], :2]
    across = corners[1] - corners[0]
    down = np.array([-across[1], across[0]]) / np.linalg.norm(across)
    ys, xs = np.indices(shape[:2])
    offsets = np.stack([xs - corners[0][0], ys - corners[0][1]], axis=-1)
    depth, along = offsets @ down, offsets @ across / (across @ across)
    upper = face_hull(face, shape) & (depth < (face.landmarks[197, :2] - corners[0]) @ down)
    if from_brows:
        upper &= (
            (depth > min((face.landmarks[BROW_TOPS, :2] - corners[0]) @ down)) & (along > 0) & (along < 1)
        )
    return upper


@pytest.mark.parametrize("person", ["astronaut", "grace hopper", "astronaut, turned"])
def test_a_cover_stays_on_top_and_the_face_above_is_swapped_untinted(
    person: str,
    astro: np.ndarray,
    grace: np.ndarray,
    analyzer: FaceAnalyzer,
    grace_swapper: Swapper,
    astro_swapper: Swapper,
) -> None:
    target = {"astronaut": astro, "grace hopper": grace, "astronaut, turned": _turned(astro)}[person]
    swapper = astro_swapper if person == "grace hopper" else grace_swapper
    face = analyzer.analyze(target)[0]
    uncovered = swapper.swap_image(target)
    upper, eyes = _upper_face(face, target.shape), _upper_face(face, target.shape, from_brows=True)
    beyond = ~face_hull(face, target.shape, grow=0.1)
    for name, cover in COVERS.items():
        covered, cloth = cover(target, face.landmarks)
        out = swapper.swap_image(covered)
        change = np.abs(out.astype(int) - covered.astype(int))
        visible = upper & ~cloth
        assert change[cloth].mean() <= 4, name  # 14-25 before: a face painted on the cover
        assert change[eyes & ~cloth].mean() > 8, name  # the eyes and brows are swapped
        tint = np.abs(out[visible].mean(axis=0) - uncovered[visible].mean(axis=0))
        assert tint.max() <= 6, name  # 19-26 before: the upper face took the cover's colour
        assert change[beyond & ~cloth].max() == 0, name


def test_a_clip_of_a_masked_face_keeps_the_mask_on_every_frame(
    astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """``rtswap swap`` on a clip: the face drifts a pixel a frame under a white mask."""
    face = analyzer.analyze(astro)[0]
    frames, cloths = [], []
    for k in range(8):
        shifted = np.roll(astro, k, axis=1)
        moved = face.landmarks[:, :2] + (k, 0)
        covered, cloth = with_face_mask(shifted, moved, MASK_COLOURS["white"])
        frames.append(covered)
        cloths.append(
            cv2.erode(cloth.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
        )  # the codec blurs edges
    clip, out = tmp_path / "masked.mp4", tmp_path / "swapped.mp4"
    write_video(clip, frames)
    assert main(["-q", "swap", "--source", str(grace_hopper_path()), str(clip), str(out)]) == 0
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    assert len(pairs) == len(frames)
    for k, (before, after) in enumerate(pairs):
        change = np.abs(
            after.to_ndarray(format="rgb24").astype(int) - before.to_ndarray(format="rgb24").astype(int)
        )
        eyes = np.roll(_upper_face(face, astro.shape, from_brows=True), k, axis=1) & ~cloths[k]
        assert change[cloths[k]].mean() <= 4, k
        assert change[eyes].mean() > 8, k
