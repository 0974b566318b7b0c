"""The PyTorch face analysis and the swap read mediapipe's files without importing mediapipe (its
C++ framework is built for numpy 1, and a CUDA machine may have another numpy)."""

from __future__ import annotations

import subprocess
import sys

_SWAP_WITHOUT_MEDIAPIPE = """
import sys
import numpy as np
import torch
from skimage import data
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import create_engine
from rtswap.engines.base import EngineSettings
from rtswap.generate.face_swap import FaceSwap
from rtswap.identity import views
from rtswap.media.image import read_image
from rtswap.media.samples import grace_hopper_path

with FaceAnalyzer(landmarks="torch") as analyzer:
    engine = create_engine(EngineSettings("warp", torch.device("cpu")))
    view = views.view_of(read_image(grace_hopper_path()), analyzer, engine.template, engine.device)
    face_swap = FaceSwap(engine, [engine.load(engine.prepare([view]))], landmarks="torch")
    astronaut = data.astronaut()
    frame = torch.from_numpy(astronaut.copy())
    face_swap.apply(frame, analyzer.analyze(astronaut))
changed = (frame.numpy() != astronaut).any(axis=-1).mean()
print(changed, "mediapipe" in sys.modules)
"""


def test_a_swap_with_torch_landmarks_never_imports_mediapipe() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SWAP_WITHOUT_MEDIAPIPE],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    changed, imported = result.stdout.split()
    assert float(changed) > 0.01  # the face was swapped
    assert imported == "False"
