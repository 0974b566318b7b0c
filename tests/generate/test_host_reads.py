"""How often one frame's swap, composite and paste read the device back to the host, counted on
the path CUDA runs (tensor resampling and composite), here on the CPU. On CUDA each read makes the
host wait for the device, so the count stays small and fixed, whatever the faces; the device run
counts every kind of wait (``tests/runtime/test_cuda.py``)."""

from __future__ import annotations

import collections
import functools
from typing import Any

import numpy as np
import pytest
import torch

from rtswap.blend import compositor
from rtswap.blend.composite_tensor import composite_tensor
from rtswap.blend.face_mask import eye_openings_tensor
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.generate import face_swap
from rtswap.geometry.crops import FaceRegions
from rtswap.swapper import Swapper

_METHODS = ("item", "tolist", "nonzero", "numpy", "cpu", "__bool__", "__int__", "__float__", "__index__")
"""Tensor methods that hand the host a tensor's values..."""
_FUNCTIONS = ("nonzero", "argwhere", "unique", "unique_consecutive", "masked_select")
"""...functions whose output's shape depends on the values..."""
_INDEXING = ("__getitem__", "__setitem__")
"""...and indexing, which reads a boolean mask index to the host."""


def _counting(patch: pytest.MonkeyPatch) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()

    def count(name: str, original: Any, reads: Any = lambda *args: True) -> Any:
        @functools.wraps(original)
        def counted(*args: Any, **kwargs: Any) -> Any:
            if reads(*args):
                counts[name] += 1
            return original(*args, **kwargs)

        return counted

    def masked(tensor: torch.Tensor, index: Any, *value: Any) -> bool:
        parts = index if isinstance(index, tuple) else (index,)
        return any(isinstance(p, torch.Tensor) and p.dtype == torch.bool for p in parts)

    for name in _METHODS:
        patch.setattr(torch.Tensor, name, count(name, getattr(torch.Tensor, name)))
    for name in _FUNCTIONS:
        patch.setattr(torch, name, count(name, getattr(torch, name)))
    for name in _INDEXING:
        patch.setattr(torch.Tensor, name, count(name, getattr(torch.Tensor, name), masked))
    return counts


def test_a_frame_reads_the_device_once_a_camera_look_once_more_a_glasses_look_twice(
    grace_swapper: Swapper, astro: np.ndarray, analyzer: FaceAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(face_swap, "FaceRegions", functools.partial(FaceRegions, opencv=False))
    monkeypatch.setattr(compositor, "composite", composite_tensor)
    monkeypatch.setattr(compositor, "eye_openings", eye_openings_tensor)
    faces = analyzer.analyze(astro)
    for k, face in enumerate(faces):
        face.track_id = k
    swap = grace_swapper.face_swap
    per_frame = []
    with torch.inference_mode():
        for _ in range(3):  # tables made on first use: the identity's, a camera look's noise calibration
            swap.apply(torch.from_numpy(astro.copy()), faces)
        swap.new_stream()
        for _ in range(30):  # every look comes round: occluders every 3rd frame, glasses every 30th
            frame = torch.from_numpy(astro.copy())
            with pytest.MonkeyPatch.context() as patch:
                counts = _counting(patch)
                swap.apply(frame, faces)
            per_frame.append(dict(counts))
    # the rasteriser reads its triangles' box sizes, once a frame; a glasses look reads the crops
    # and their landmarks (OpenCV finds the rims, on the host); a camera look, two frames after the
    # first and every 15th after that, reads its measures at once
    assert per_frame[0] == {"cpu": 3, "numpy": 3, "tolist": 1}
    camera_looks = {2, 17}
    assert all(per_frame[k] == {"cpu": 1, "numpy": 1, "tolist": 1} for k in camera_looks)
    assert all(per_frame[k] == {"cpu": 1, "numpy": 1} for k in set(range(1, 30)) - camera_looks)
