import numpy as np
import pytest
import torch

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.warp.engine import warp_template
from rtswap.geometry.align import apply_affine, estimate_similarity, invert_affine
from rtswap.geometry.crops import FaceRegions
from rtswap.geometry.landmarks import five_points


def test_similarity_recovers_a_known_transform() -> None:
    template = warp_template(256)
    angle, scale, shift = 0.3, 1.7, np.array([40.0, -12.0])
    rot = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = template @ rot.T + shift
    matrix = estimate_similarity(points, template)
    np.testing.assert_allclose(apply_affine(matrix, points), template, atol=1e-9)
    np.testing.assert_allclose(apply_affine(invert_affine(matrix), template), points, atol=1e-9)


def test_real_face_aligns_onto_the_template(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    face = analyzer.analyze(astro)[0]
    template = warp_template(256)
    matrix = estimate_similarity(five_points(face.landmarks), template)
    residual = np.linalg.norm(apply_affine(matrix, five_points(face.landmarks)) - template, axis=1)
    assert residual.max() < 0.05 * 256  # a similarity cannot fit 5 real points exactly, but closely


@pytest.mark.parametrize("opencv", [True, False])
def test_crop_and_paste_go_where_the_matrix_says(opencv: bool) -> None:
    frame = torch.zeros(100, 120, 3, dtype=torch.uint8)
    frame[30, 50] = 255  # one white pixel at x=50, y=30
    matrix = np.array([[2.0, 0.0, -60.0], [0.0, 2.0, -20.0]])  # frame -> crop: x' = 2x - 60
    region = FaceRegions(frame, [matrix], 64, opencv=opencv)
    crop = region.crop()
    ys, xs = np.nonzero(crop[0, 0].numpy() > 0.99)
    assert (ys.tolist(), xs.tolist()) == ([40], [40])
    # pasting a zero change leaves the frame's bytes exactly as they were
    before = frame.clone()
    region.paste(frame, torch.zeros(1, 3, 64, 64))
    assert torch.equal(frame, before)
