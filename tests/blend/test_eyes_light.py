"""The swap's eyes take the light of the target's (:data:`rtswap.blend.color.EYES_GAIN`): across
skin tones (the astronaut and her darker-skinned variant, :func:`rtswap.testing.skin.darker_skin`)
and behind tinted lenses."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.blend.color import rgb_to_lab
from rtswap.blend.face_mask import eye_openings, eye_openings_tensor
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.warp.engine import warp_template
from rtswap.geometry.align import Template, apply_affine
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE
from rtswap.swapper import Swapper
from rtswap.testing.occluders import with_sunglasses


def _openings(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The L* of the eyes' openings (drawn a pixel inside)."""
    openings = np.zeros(image.shape[:2], np.uint8)
    for hole in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE):
        cv2.fillPoly(openings, [np.round(landmarks[hole, :2]).astype(np.int32)], (1,))
    inside = cv2.erode(openings, np.ones((3, 3), np.uint8)) > 0
    return rgb_to_lab(torch.from_numpy(image).permute(2, 0, 1)[None] / 255.0)[0, 0].numpy()[inside]


def _whites(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The mean L* of the lighter half of the eyes' openings."""
    lightness = _openings(image, landmarks)
    return float(lightness[lightness > lightness.mean()].mean())


def _irises(image: np.ndarray, landmarks: np.ndarray) -> float:
    """The mean L* of the darkest third of the eyes' openings."""
    lightness = _openings(image, landmarks)
    return float(lightness[lightness < np.percentile(lightness, 30)].mean())


def test_the_eyes_are_as_light_as_the_targets_whatever_the_skin(
    astro: np.ndarray,
    darker_astro: np.ndarray,
    astro_swapper: Swapper,
    darker_astro_swapper: Swapper,
    analyzer: FaceAnalyzer,
) -> None:
    """Moved with the skin, the eyes' whites came out grey on the darker face (43 L* against its
    own 67) and glowed on the lighter one (94 against 68)."""
    for swapper, target in ((astro_swapper, darker_astro), (darker_astro_swapper, astro)):
        landmarks = analyzer.analyze(target)[0].landmarks
        swapped = swapper.swap_image(target)
        assert abs(_whites(swapped, landmarks) - _whites(target, landmarks)) < 8


def test_eyes_that_show_no_white_keep_their_depth(
    grace: np.ndarray, astro: np.ndarray, grace_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """Grace Hopper's narrow eyes show little white: they take the skin's change of light but not
    its change of contrast, which had lifted her near-black irises (L* 6) to a pale blue-grey
    (18) on the astronaut, lighter than the astronaut's own brown ones (17)."""
    swapped = grace_swapper.swap_image(astro)
    irises = _irises(swapped, analyzer.analyze(astro)[0].landmarks)
    assert _irises(grace, analyzer.analyze(grace)[0].landmarks) < irises < 14  # (9.9)


def test_behind_tinted_lenses_the_eyes_take_the_tint(
    astro: np.ndarray, astro_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """Lenses half dark count as clear, and the swap's eyes are drawn there: they used to come
    out as bright as in the source (53 L* against the target's 40)."""
    landmarks = analyzer.analyze(astro)[0].landmarks
    target = with_sunglasses(astro, landmarks, opacity=0.5)
    swapped = astro_swapper.swap_image(target)
    assert abs(_whites(swapped, landmarks) - _whites(target, landmarks)) < 6  # (3.5)


def test_the_eyes_openings_drawn_on_the_cpu_are_those_a_gpu_finds(
    astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """The CPU draws the openings with OpenCV, a GPU finds them in tensor operations (at half the
    resolution): the same pixels but for the edges (OpenCV's polygons take in their boundary, and
    at half the resolution the corners' thinnest tips are lost)."""
    template = Template(warp_template(256), 256)
    face = analyzer.analyze(astro)[0]
    landmarks = torch.as_tensor(
        apply_affine(template.matrix(face.landmarks), face.landmarks)[None, :, :2]
    ).float()
    drawn, found = (openings(landmarks, 256) > 0.5 for openings in (eye_openings, eye_openings_tensor))
    assert 600 < drawn.sum() < 900  # (both eyes)
    assert (found & ~drawn).sum() <= 0.01 * found.sum()  # (4 of 668 px)
    assert (drawn & ~_grown(found, 1)).sum() <= 0.03 * drawn.sum()  # (12 of 782 px: the corners' tips)


def _grown(mask: torch.Tensor, pixels: int) -> torch.Tensor:
    return torch.nn.functional.max_pool2d(mask.float(), 2 * pixels + 1, stride=1, padding=pixels) > 0
