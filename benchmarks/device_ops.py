"""Tensor operations per frame in each per-face step, with 1 and 4 faces: on CUDA each is a kernel
launch, and at a few microseconds a launch, steps of a few hundred small operations are bound by
launches, not by the work. This is what decides where fusing pays (a Triton kernel, or a CUDA
graph of a step's fixed shapes); the time each step takes on a GPU comes from ``rtswap bench
--device cuda``, whose per-stage figures are CUDA-event timings there.

Counted on any device (the tensor implementations, which are what runs on CUDA; views, which
launch nothing, are left out) with a ``TorchDispatchMode``. The scene is the astronaut photo,
tiled once per face.

    python benchmarks/device_ops.py [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rtswap.bench.runner import machine
from rtswap.blend.composite_tensor import composite_tensor
from rtswap.blend.occluders.skin import occluders
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.detect.torch_analysis import TorchFaceDetector, TorchFaceMesh
from rtswap.frame import Face
from rtswap.generate.face_swap import FaceSwap
from rtswap.geometry.crops import FaceRegions
from rtswap.media.samples import astronaut, grace_hopper_path
from rtswap.swapper import Swapper

_NO_KERNEL = {"empty", "empty_strided", "_local_scalar_dense", "lift_fresh", "detach"}


class _Counter(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.ops: Counter[str] = Counter()

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        name = func.__name__.split(".")[0]
        view = any(r.alias_info is not None and not r.alias_info.is_write for r in func._schema.returns)
        if not view and name not in _NO_KERNEL:
            self.ops[name] += 1
        return func(*args, **(kwargs or {}))


def _count(step: Callable[[], object]) -> int:
    with torch.inference_mode(), _Counter() as counter:
        step()
    return sum(counter.ops.values())


def _scene(faces: int) -> np.ndarray:
    face = cv2.resize(astronaut(), (360, 360), interpolation=cv2.INTER_AREA)
    return np.hstack([face] * faces)


def _analysis_counts(frame: torch.Tensor, faces: list[Face]) -> dict[str, int]:
    """The face analysis of ``--landmarks torch`` (the PyTorch ports of mediapipe's networks)."""
    detector, mesh = TorchFaceDetector(frame.device), TorchFaceMesh(frame.device)
    followed: list[tuple[np.ndarray, int | None]] = [(face.box, key) for key, face in enumerate(faces)]
    mesh.landmarks_many(frame, followed)  # from now on each face is followed from its landmarks
    return {
        "detector, whole frame": _count(lambda: detector.detect(frame)),
        "face mesh, followed": _count(lambda: mesh.landmarks_many(frame, followed)),
    }


def _counts(face_swap: FaceSwap, frame: torch.Tensor, faces: list[Face]) -> dict[str, int]:
    work = face_swap.swap(frame, faces)
    assert work is not None
    face_swap.composite(work)
    changes = work.changes
    assert changes is not None
    regions = FaceRegions(frame, work.regions.matrices, work.regions.size, opencv=False)
    one_each = [FaceRegions(frame, [m], work.regions.size, opencv=False) for m in regions.matrices]
    return {
        "crop, batched": _count(regions.crop),
        "crop, face by face": _count(lambda: [r.crop() for r in one_each]),
        "crop + engine (warp)": _count(lambda: face_swap.swap(frame, faces)),
        "occluders": _count(lambda: occluders(work.crops, work.landmarks, work.mask)),
        "composite": _count(lambda: composite_tensor(work.crops, work.swapped, work.mask)),
        "paste, batched": _count(lambda: regions.paste(frame.clone(), changes)),
        "paste, face by face": _count(lambda: _paste_one_by_one(one_each, frame.clone(), changes)),
    }


def _paste_one_by_one(regions: list[FaceRegions], frame: torch.Tensor, changes: torch.Tensor) -> None:
    for k, region in enumerate(regions):
        region.paste(frame, changes[k : k + 1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    counts = {}
    with FaceAnalyzer() as analyzer, Swapper(grace_hopper_path(), progress=False) as swapper:
        for faces in (1, 4):
            image = _scene(faces)
            found = analyzer.analyze(image)
            assert len(found) == faces
            frame = torch.from_numpy(image)
            counts[faces] = _analysis_counts(frame, found) | _counts(swapper.face_swap, frame, found)
    print(f"{'tensor operations':<22}{'1 face':>8}{'4 faces':>9}")
    for step in counts[1]:
        print(f"{step:<22}{counts[1][step]:>8}{counts[4][step]:>9}")
    if args.json:
        rows = [
            {"faces": n, "step": step, "operations": ops}
            for n, c in counts.items()
            for step, ops in c.items()
        ]
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
