"""All the faces of a frame go through the engine and the composite in one batch: the frame comes
out as it does when each face is swapped on its own."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.crops import FaceRegions
from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper

_DEVICES = [
    "cpu",
    pytest.param(
        "cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")],
    ),
]


@pytest.mark.parametrize("device", _DEVICES)
def test_a_batch_of_faces_gives_what_each_face_gives_alone(
    astro: np.ndarray, analyzer: FaceAnalyzer, device: str
) -> None:
    scene = np.full((400, 1200, 3), 150, np.uint8)  # three faces of different sizes, apart
    for k, size in enumerate((360, 300, 380)):
        scene[20 : 20 + size, 20 + 400 * k : 20 + 400 * k + size] = cv2.resize(
            astro, (size, size), interpolation=cv2.INTER_AREA
        )
    faces = analyzer.analyze(scene)
    assert len(faces) == 3
    with Swapper(grace_hopper_path(), SwapConfig(device=device), progress=False) as swapper:
        together = torch.from_numpy(scene.copy()).to(swapper.device)
        swapper.face_swap.apply(together, faces)
        alone = torch.from_numpy(scene.copy()).to(swapper.device)
        for face in faces:
            swapper.face_swap.apply(alone, [face])
    difference = together.cpu().numpy().astype(int) - alone.cpu().numpy().astype(int)
    assert np.abs(difference).max() <= 1
    assert not np.array_equal(together.cpu().numpy(), scene)


def _similarity(scale: float, angle: float, x: float, y: float) -> np.ndarray:
    """Frame -> crop: rotate and scale about the frame point (x, y), which lands on crop pixel (32, 32)."""
    linear = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.hstack([linear, (np.array([32.0, 32.0]) - linear @ [x, y])[:, None]])


def test_batched_crops_and_pastes_equal_one_face_at_a_time() -> None:
    """The tensor implementation (what runs on CUDA), on faces that overlap, one partly outside
    the frame, one whose crop magnifies it (pasted bicubically, the others bilinearly): the batch
    moves the same pixels as face after face. The changes are nothing along the crops' edges, as a
    face's are (its face well inside its crop)."""
    rng = np.random.default_rng(0)
    frame = torch.from_numpy(rng.integers(64, 192, (240, 320, 3), dtype=np.uint8))
    matrices = [
        _similarity(0.5, 0.2, 100, 100),
        _similarity(0.8, -0.4, 140, 120),
        _similarity(0.6, 0.0, 300, 20),
        _similarity(1.3, 0.1, 220, 160),
    ]
    changes = (torch.rand(4, 3, 64, 64, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.2
    changes[..., :4, :] = changes[..., -4:, :] = changes[..., :4] = changes[..., -4:] = 0.0
    regions = FaceRegions(frame, matrices, 64, opencv=False)
    alone = [FaceRegions(frame, [m], 64, opencv=False) for m in matrices]
    # (within float32's rounding of sampling positions normalised over boxes of other sizes)
    torch.testing.assert_close(regions.crop(), torch.cat([r.crop() for r in alone]), atol=5e-5, rtol=0)

    together, one_by_one = frame.clone(), frame.clone()
    regions.paste(together, changes)
    for m, change in zip(matrices, changes, strict=True):  # each face's region read after the last paste
        FaceRegions(one_by_one, [m], 64, opencv=False).paste(one_by_one, change[None])
    assert (together.int() - one_by_one.int()).abs().max() <= 1
    touched = (together != frame).any(dim=-1)
    assert touched[100, 100] and touched[120, 140] and touched[20, 300] and touched[160, 220]  # centres
    assert not touched[230:, :].any()  # nothing far from the faces


def test_tensor_and_opencv_resampling_agree(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """The two implementations of the crop and the paste, on a real swap's changes. (OpenCV
    rounds its sampling positions to 1/32 pixel, so they are close, not equal.)"""
    frame = torch.from_numpy(astro)
    with Swapper(grace_hopper_path(), progress=False) as swapper:
        work = swapper.face_swap.swap(frame, analyzer.analyze(astro))
        assert work is not None
        swapper.face_swap.composite(work)
    assert work.regions.opencv and work.changes is not None
    tensor = FaceRegions(frame, work.regions.matrices, work.regions.size, opencv=False)
    difference = (tensor.crop() - work.regions.crop()).abs()
    assert difference.mean() < 0.5 / 255 and difference.max() < 4 / 255
    by_opencv, by_tensors = frame.clone(), frame.clone()
    work.regions.paste(by_opencv, work.changes)
    tensor.paste(by_tensors, work.changes)
    assert (by_opencv != frame).any(dim=-1).sum() > 5_000  # the face changed
    assert (by_opencv.int() - by_tensors.int()).abs().max() <= 2
