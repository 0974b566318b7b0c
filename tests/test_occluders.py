"""What covers a face stays on top of the swap (target), or out of the texture (source)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.synthetic_occluders import forehead_rows, with_glasses, with_hand
from rtswap.vision.detect import FaceAnalyzer
from tests.conftest import face_change, face_hull


@pytest.fixture(scope="module")
def astro_swapper(astro: np.ndarray) -> Iterator[Swapper]:
    """The astronaut as the source: her fringe covers much of her forehead."""
    with Swapper(astro, device="cpu", progress=False) as s:
        yield s


def _mean_change(before: np.ndarray, after: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(after[where].astype(int) - before[where].astype(int)).mean())


@pytest.mark.parametrize("keep", [True, False])
def test_target_glasses_frames_stay_on_top(astro: np.ndarray, analyzer: FaceAnalyzer, keep: bool) -> None:
    face = analyzer.analyze(astro)[0]
    target, frames = with_glasses(astro, face.landmarks)
    with Swapper(grace_hopper_path(), device="cpu", keep_occluders=keep, progress=False) as swapper:
        out = swapper.swap_image(target)
    on_face = frames & face_hull(face, astro.shape)
    changed, _ = face_change(target, out, face)
    assert changed > 0.5  # the face around the frames is swapped either way
    if keep:
        assert _mean_change(target, out, on_face) < 5  # levels: the frames are there, unchanged
    else:
        assert _mean_change(target, out, on_face) > 40  # painted over


def test_a_hand_over_the_mouth_stays_on_top(
    grace: np.ndarray, analyzer: FaceAnalyzer, astro_swapper: Swapper
) -> None:
    face = analyzer.analyze(grace)[0]
    target, hand = with_hand(grace, face.landmarks)
    out = astro_swapper.swap_image(target)
    assert _mean_change(target, out, hand & face_hull(face, grace.shape)) < 5
    changed, _ = face_change(target, out, face)
    assert changed > 0.3  # the rest of the face is swapped


def test_no_band_on_the_forehead_from_a_source_fringe(
    grace: np.ndarray, analyzer: FaceAnalyzer, astro_swapper: Swapper
) -> None:
    face = analyzer.analyze(grace)[0]
    rows = forehead_rows(grace, astro_swapper.swap_image(grace), face.landmarks)
    assert len(rows) > 10
    assert rows.min() > -0.12  # no rows darkened by a pasted fringe (it was -0.21 before)


def _occluders_in_crop(image: np.ndarray, analyzer: FaceAnalyzer) -> tuple[torch.Tensor, torch.Tensor]:
    """The occluder map of the face in a 256 px warp crop, and where the face is in it below the
    eyes, 10 px in from its outline."""
    from rtswap.blend.face_mask import mesh_mask
    from rtswap.blend.mask import erode
    from rtswap.blend.occluders import occluders
    from rtswap.blend.paste import FaceRegions
    from rtswap.engines.warp.engine import warp_template
    from rtswap.vision.align import Template, apply_affine

    face = analyzer.analyze(image)[0]
    template = Template(warp_template(256), 256)
    matrix = template.matrix(face.landmarks)
    crop = FaceRegions(torch.as_tensor(image), [matrix], 256).crop()
    points = torch.as_tensor(apply_affine(matrix, face.landmarks), dtype=torch.float32)[None]
    face_region = mesh_mask(points, 256)
    inner = erode(face_region, 10)[0, 0] > 0.5
    inner[: int(points[0, [468, 473], 1].mean())] = False
    return occluders(crop, points, face_region)[0, 0], inner


def test_a_clear_face_has_no_occluders(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """Between the eyes and the chin the astronaut's face is uncovered: nothing is kept there."""
    found, lower_face = _occluders_in_crop(astro, analyzer)
    assert float(found[lower_face].mean()) < 0.02


def test_occluder_maps_are_reused_within_a_track_and_found_again_for_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rtswap.blend import occluders as module

    calls: list[int] = []
    real = module.occluders

    def counted(crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        calls.append(len(crops))
        return real(crops, landmarks, face)

    monkeypatch.setattr(module, "occluders", counted)
    crop = torch.rand(1, 3, 64, 64)
    points = torch.rand(1, 478, 2) * 64
    face = torch.ones(1, 1, 64, 64)
    maps = module.OccluderMaps(every=3)
    first = maps(crop, points, face, [7])
    assert torch.equal(maps(crop * 0, points, face, [7]), first)  # reused: the crop is not looked at
    maps(crop, points, face, [7])
    assert len(calls) == 1
    maps(crop, points, face, [7])  # the third frame since: looked for again
    maps(crop, points, face, [8])  # a new track
    maps(crop, points, face, [-1])  # a still
    maps(crop, points, face, [-1])
    assert len(calls) == 5
