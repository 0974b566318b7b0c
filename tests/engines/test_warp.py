"""The ``warp`` engine's source texture."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.capture.synthetic_heads import SyntheticClip
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.warp.engine import WarpIdentity
from rtswap.engines.warp.fill import thin_holes_filled
from rtswap.geometry.landmarks import CHIN, LEFT_IRIS
from rtswap.geometry.topology import FACE_OVAL, LEFT_EYE_HOLE, MOUTH_HOLE, RIGHT_EYE_HOLE
from rtswap.swapper import Swapper


def test_a_smiling_sources_teeth_stay_out_of_a_closed_mouth(
    grace: np.ndarray, astro_swapper: Swapper, darker_astro_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """The astronaut smiles with her teeth; onto Grace Hopper's closed mouth the lips' inner edges
    drew them as a light line between the lips, glowing white from the darker-skinned variant
    (the line's upper tenth at luma 193 and 254 against the lips' 123 and 148). The line is the
    target's own now, as dark as the lips round it."""
    landmarks = analyzer.analyze(grace)[0].landmarks
    line = np.zeros(grace.shape[:2], np.uint8)
    cv2.polylines(line, [np.round(landmarks[MOUTH_HOLE, :2]).astype(np.int32)], True, (1,), 2)
    lips = cv2.dilate(line, np.ones((9, 9), np.uint8)) - cv2.dilate(line, np.ones((3, 3), np.uint8))
    for swapper in (astro_swapper, darker_astro_swapper):
        luma = cv2.cvtColor(swapper.swap_image(grace), cv2.COLOR_RGB2GRAY).astype(float)
        assert np.percentile(luma[line > 0], 90) < np.median(luma[lips > 0]) + 10  # (+0, -4)


def test_thin_holes_above_the_eyes_are_filled_from_the_skin_round_them(grace_swapper: Swapper) -> None:
    """On a plain skin with Grace Hopper's face's landmarks: a 4 px line left out across the
    forehead (a frame's top bar) is filled with the skin's colour and counts as valid; a wide hole
    (a fringe) and a thin one below the eyes (a lower rim) stay holes."""
    identity = grace_swapper.face_swap.identities[0]
    assert isinstance(identity, WarpIdentity)
    points = identity.landmarks[:1]
    size = 256
    eyes_top = int(points[0, [*LEFT_EYE_HOLE, *RIGHT_EYE_HOLE], 1].min())
    below = int(points[0, LEFT_IRIS, 1]) + 20
    validity = torch.ones(size, size)
    validity[eyes_top - 8 : eyes_top - 4, 40:216] = 0  # the bar
    validity[eyes_top - 60 : eyes_top - 30, 100:156] = 0  # the fringe
    validity[below : below + 3, 60:110] = 0  # the rim
    skin = torch.tensor([0.8, 0.6, 0.5])[:, None, None]
    textures = torch.cat([skin * validity, validity[None]])[None]
    filled = thin_holes_filled(textures, points)[0]
    bar = (slice(eyes_top - 8, eyes_top - 4), slice(60, 196))  # within the face's outline
    assert bool((filled[3][bar] == 1).all())
    assert float((filled[:3][(slice(None), *bar)] - skin).abs().max()) < 2 / 255
    assert float(filled[3, eyes_top - 50 : eyes_top - 40, 110:146].max()) == 0
    assert float(filled[3, below : below + 3, 70:100].max()) == 0


def test_the_band_above_a_sources_eyes_is_her_own_under_her_frames_top_bar(grace_swapper: Swapper) -> None:
    """Grace Hopper's frames' top bar runs just above her eyes. Across the 12 rows above each eye's
    opening, 60% of her texture was valid (the bar's place a gap, its blurred edges half in); now
    98%, the bar's place filled from her face."""
    identity = grace_swapper.face_swap.identities[0]
    assert isinstance(identity, WarpIdentity)
    validity, points = identity.textures[0, 3], identity.landmarks[0]
    for eye in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE):
        top = int(points[eye, 1].min())
        left, right = int(points[eye, 0].min()), int(points[eye, 0].max())
        band = validity[top - 14 : top - 2, left:right]
        assert float((band > 0.5).float().mean()) > 0.95


def test_a_sources_top_bar_does_not_bring_the_targets_eyes_back(
    grace_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """Grace Hopper's frames' top bar, left out of her texture, left a gap across the brows; with it
    the camera match read the swap as sharper than the target down the face and blurred the
    change by 1.65-1.89 crop pixels, which lets the target's own detail back: the target's lids
    and catchlights came into the swap's eyes. On demo frames 45 and 119 the swap's eyes' fine
    detail (luma less its blur at σ 2, round the
    eyes) correlated 0.65 and 0.70 with the target's; with the bar's place filled from her face,
    0.24 and 0.26."""
    clip = SyntheticClip()
    for index in (45, 119):
        target = clip.frame(index)
        landmarks = analyzer.analyze(target)[0].landmarks
        eyes = np.zeros(target.shape[:2], np.uint8)
        for eye in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE):
            cv2.fillPoly(eyes, [np.round(landmarks[eye, :2]).astype(np.int32)], (1,))
        around = cv2.dilate(eyes, np.ones((7, 7), np.uint8)) > 0
        detail = [
            (luma - cv2.GaussianBlur(luma, (0, 0), 2))[around]
            for luma in (
                cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
                for image in (target, grace_swapper.swap_image(target))
            )
        ]
        assert np.corrcoef(detail[0], detail[1])[0, 1] < 0.4


def test_a_sources_shadow_under_her_chin_is_not_pasted_on_the_targets(
    grace_swapper: Swapper, analyzer: FaceAnalyzer
) -> None:
    """Grace Hopper's face's outline runs along the shadow under her chin, and the rule that keeps
    a target's chin shadow from reading as an occluder (only what is wide along the jaw) kept hers
    in her texture: pasted, a grey band along the target's chin. Within 10 px of the chin's outline
    on demo frames 40 and 100, the darkest twentieth of the swap was 52-54 levels darker than the
    target (luma blurred at σ 2); with her shadow left out, 30-31 (her chin's own tone)."""
    clip = SyntheticClip()
    for index in (40, 100):
        target = clip.frame(index)
        landmarks = analyzer.analyze(target)[0].landmarks[:, :2]
        face = cv2.fillPoly(
            np.zeros(target.shape[:2], np.uint8), [np.round(landmarks[FACE_OVAL]).astype(np.int32)], (1,)
        )
        at = FACE_OVAL.index(CHIN)
        chin = landmarks[[FACE_OVAL[(at + k) % len(FACE_OVAL)] for k in range(-4, 5)]]
        near = cv2.polylines(np.zeros_like(face), [np.round(chin).astype(np.int32)], False, (1,), 21)
        luma = [
            cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2)
            for image in (target, grace_swapper.swap_image(target))
        ]
        darker = (luma[1] - luma[0])[(face > 0) & (near > 0)]
        assert np.percentile(darker, 5) > -40
