"""Faces that turn away: the mesh's winding and symmetry, and no tearing on the far cheek."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import Motion, SyntheticHead, cheek_roughness
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.warp.engine import WarpEngine
from rtswap.geometry.facing import facing, visibility
from rtswap.geometry.landmarks import LEFT_IRIS, NOSE_TIP, UPPER_LIP_INNER
from rtswap.geometry.topology import MIRROR
from rtswap.identity import views
from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper


def test_the_mirror_takes_each_vertex_to_the_other_side(grace: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """In the photo flipped left to right, each vertex lands where its mirror was."""
    points = analyzer.analyze(grace)[0].landmarks[:, :2].astype(np.float64)
    flipped = analyzer.analyze(grace[:, ::-1].copy())[0].landmarks[:, :2].astype(np.float64)
    flipped[:, 0] = grace.shape[1] - 1 - flipped[:, 0]
    error = np.linalg.norm(MIRROR @ points - flipped, axis=1)[:468]
    width = np.ptp(points[:, 0])
    assert np.allclose(MIRROR.sum(axis=1), 1.0)
    assert np.median(error) < 0.01 * width and np.quantile(error, 0.99) < 0.03 * width
    assert error.max() < 0.06 * width  # the eye corners, where the tessellation is not symmetric


def test_a_turn_hides_the_far_side(head: SyntheticHead, analyzer: FaceAnalyzer) -> None:
    frontal = torch.as_tensor(analyzer.analyze(head.render(Motion()))[0].landmarks)
    assert (facing(frontal) > 0).float().mean() > 0.97
    for yaw, far in ((-35, "left"), (35, "right")):
        points = torch.as_tensor(analyzer.analyze(head.render(Motion(yaw=yaw)))[0].landmarks)
        seen = visibility(points)
        left = points[:, 0] < points[4, 0]
        near_side, far_side = (seen[~left], seen[left]) if far == "left" else (seen[left], seen[~left])
        assert far_side.mean() < near_side.mean() - 0.1


@pytest.mark.parametrize("yaw", [-35, 35])
def test_no_tearing_on_the_far_cheek(head: SyntheticHead, analyzer: FaceAnalyzer, yaw: int) -> None:
    """A face 400 px high turned 35 degrees: the swap's far cheek is no rougher, against its near
    cheek, than the target's own (the turned-away triangles that tore it take no texture)."""
    image = head.render(Motion(yaw=yaw))
    scale = 400 / analyzer.analyze(image)[0].height
    image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    landmarks = analyzer.analyze(image)[0].landmarks
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu"), progress=False) as swapper:
        out = swapper.swap_image(image)

    def far_over_near(picture: np.ndarray) -> float:
        left, right = cheek_roughness(picture, landmarks)
        return left / right if yaw < 0 else right / left

    assert far_over_near(out) < 1.3 * far_over_near(image)


def test_a_turned_sources_far_cheek_is_filled_from_its_near_side(
    head: SyntheticHead, analyzer: FaceAnalyzer
) -> None:
    engine = WarpEngine(device="cpu")
    view = views.view_of(head.render(Motion(yaw=-35)), analyzer, engine.template, engine.device)
    assert view is not None
    prepared = engine.prepare([view])
    own = prepared["textures"][0, :3].float() / 255
    filled = engine.load(prepared).textures[0]
    changed = ((filled[:3] / filled[3:].clamp(min=1e-3) - own).abs().amax(dim=0) > 0.1) & (filled[3] > 0.5)
    cheeks = changed[int(view.landmarks[LEFT_IRIS, 1]) : int(view.landmarks[UPPER_LIP_INNER, 1])]
    nose_x = int(view.landmarks[NOSE_TIP, 0])
    far, near = int(cheeks[:, :nose_x].sum()), int(cheeks[:, nose_x:].sum())
    assert far > 4 * near and far > 100
