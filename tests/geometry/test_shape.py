"""``--shape source``: the source's face shape on the target's head and expression."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.errors import InputError
from rtswap.generate.face_swap import FaceSwap
from rtswap.geometry.align import pixel_grid
from rtswap.geometry.landmarks import FOREHEAD, LOWER_LIP_INNER, NOSE_TIP, UPPER_LIP_INNER
from rtswap.geometry.shape import background_map, reshaped
from rtswap.geometry.topology import FACE_OVAL
from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper
from tests.conftest import face_hull


def test_a_source_of_the_targets_own_shape_changes_nothing_however_posed(
    grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    target = analyzer.analyze(grace)[0].landmarks.astype(np.float64)
    turned = 0.6 * target @ Rotation.from_euler("yxz", [20, -10, 5], degrees=True).as_matrix().T + [40, -7, 3]
    assert np.abs(reshaped(target, turned) - target[:, :2]).max() < 1e-6


def test_the_outline_becomes_the_sources_and_an_open_mouth_stays_open(
    head: SyntheticHead, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    target = analyzer.analyze(head.render(Motion(mouth=1.0)))[0].landmarks.astype(np.float64)
    source = analyzer.analyze(grace)[0].landmarks.astype(np.float64)  # her mouth is closed
    out = reshaped(target, source)
    height = np.ptp(target[:, 1])
    opening = lambda points: points[LOWER_LIP_INNER, 1] - points[UPPER_LIP_INNER, 1]  # noqa: E731
    assert abs(opening(out) - opening(target)) < 0.01 * height
    # the face's width for the length from forehead to nose tip: 1.75 hers, 1.59 the astronaut's
    proportion = lambda points: np.ptp(points[FACE_OVAL, 0]) / (points[NOSE_TIP, 1] - points[FOREHEAD, 1])  # noqa: E731
    assert abs(proportion(out) - proportion(source)) < 0.25 * abs(proportion(target) - proportion(source))


def test_the_background_moves_with_the_outline_and_not_beyond_the_ring(
    grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    before = torch.as_tensor(analyzer.analyze(grace)[0].landmarks[:, :2], dtype=torch.float32) / 2
    after = before.clone()
    after[FACE_OVAL, 0] = before[FACE_OVAL, 0] + 0.1 * (
        before[FACE_OVAL, 0] - before[FACE_OVAL, 0].mean()
    )  # wider
    size = 320
    grid = pixel_grid(size, size, before.device)
    assert torch.equal(background_map(before, before, size), grid)  # no reshaping, no movement
    moved = background_map(before, after, size) - grid
    assert moved.abs().amax() > 3  # the pixels just outside the outline come from further in
    assert moved[:, :2].abs().amax() == 0 and moved[:2].abs().amax() == 0  # nothing at the crop's border


def test_swapping_with_the_sources_shape_changes_the_face_and_its_surroundings_only(
    astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    face = analyzer.analyze(astro)[0]
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu", shape="source"), progress=False) as swapper:
        out = swapper.swap_image(astro)
    change = np.abs(out.astype(int) - astro.astype(int)).max(axis=-1)
    assert np.mean(change[face_hull(face, astro.shape)] > 10) > 0.4
    # around the face the background moves with the outline (--shape target leaves it byte for byte)
    around = face_hull(face, astro.shape, grow=0.3) & ~face_hull(face, astro.shape, grow=0.1)
    assert np.mean(change[around] > 0) > 0.02
    assert change[~face_hull(face, astro.shape, grow=0.6)].max() == 0  # beyond the ring: exact bytes


def test_the_sources_shape_needs_the_warp_engine() -> None:
    class Neural:
        name = "inswapper"

    with pytest.raises(InputError, match="warp engine only"):
        FaceSwap(Neural(), [], shape="source")  # type: ignore[arg-type]  # only its name is read
