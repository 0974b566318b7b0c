"""The target's light on the swapped face (rtswap/blend/light.py), on the astronaut's own photo lit
from one side and the other: the light moves towards the target's, nothing else changes."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.blend.light import light_ratio, relit
from rtswap.detect.analyzer import FaceAnalyzer
from tests.conftest import face_hull


def _lit(image: np.ndarray, left: float, right: float) -> torch.Tensor:
    ramp = np.linspace(left, right, image.shape[1], dtype=np.float32)[None, :, None]
    return torch.from_numpy((image / 255.0 * ramp).clip(0, 1).astype(np.float32)).permute(2, 0, 1)[None]


def _right_over_left(x: torch.Tensor, inside: np.ndarray) -> float:
    """The face's mean luma on its right half over its left half: where the light comes from."""
    luma = (x[0] * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(dim=0).numpy()
    middle = int(np.nonzero(inside)[1].mean())
    halves = inside.copy(), inside.copy()
    halves[0][:, middle:], halves[1][:, :middle] = False, False
    return float(luma[halves[1]].mean() / luma[halves[0]].mean())


def test_a_face_lit_from_the_other_side_takes_the_targets_light_half_way(
    astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    crop = cv2.resize(astro[50:195, 152:297], (256, 256))  # the face, as an aligned crop holds it
    inside = face_hull(analyzer.analyze(crop)[0], crop.shape)
    face = torch.from_numpy(inside.astype(np.float32))[None, None]
    target, swapped = _lit(crop, 0.7, 1.3), _lit(crop, 1.3, 0.7)  # light from the right; the left
    out = relit(swapped, light_ratio(target, swapped, face))
    given, wanted, got = (_right_over_left(x, inside) for x in (swapped, target, out))
    assert given < wanted, (given, wanted)
    # half-way is the ratio's square root; averaged within the face, a light's slope comes out a
    # little flatter than it is, so a third of the way (0.70 -> 0.78 of 0.96)
    assert 0.25 < (got - given) / (wanted - given) < 0.6, (given, wanted, got)
    assert torch.equal(out[..., ~torch.from_numpy(inside)], swapped[..., ~torch.from_numpy(inside)])
    same = relit(target, light_ratio(target, target, face))  # the same light: nothing to move
    assert (same - target).abs().max() < 2 / 255
