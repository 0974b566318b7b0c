"""All the faces of a frame go through the engine and the composite in one batch: the frame comes
out as it does when each face is swapped on its own."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.vision.detect import FaceAnalyzer

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
    with Swapper(grace_hopper_path(), device=device, progress=False) as swapper:
        together = torch.from_numpy(scene.copy()).to(swapper.device)
        swapper.face_swap.apply(together, faces)
        alone = torch.from_numpy(scene.copy()).to(swapper.device)
        for face in faces:
            swapper.face_swap.apply(alone, [face])
    difference = together.cpu().numpy().astype(int) - alone.cpu().numpy().astype(int)
    assert np.abs(difference).max() <= 1
    assert not np.array_equal(together.cpu().numpy(), scene)
