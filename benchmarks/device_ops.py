"""Tensor operations per frame in each per-face step, with 1 and 4 faces, and the time each step
takes: on CUDA each operation is a kernel launch, and at a few microseconds a launch (more of the
interpreter's), steps of a few hundred small operations are bound by launches and the host, not
by the work. This is what decides where fusing pays (a Triton kernel, or a CUDA graph of a
step's fixed shapes).

Counted on any device (the tensor implementations, which are what runs on CUDA; views, which
launch nothing, are left out) with a ``TorchDispatchMode``; timed as the median of 20 calls after
one, the device synchronised around each. The scene is the astronaut photo, tiled once per face.

    python benchmarks/device_ops.py [--device cpu|cuda] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rtswap.bench.runner import machine
from rtswap.blend.composite import graphed_composite
from rtswap.blend.composite_tensor import composite_tensor
from rtswap.blend.face_mask import eye_openings
from rtswap.blend.occluders.skin import occluders
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.detect.face_mesh_torch import FaceMeshNet, crops
from rtswap.detect.face_mesh_torch import Region as MeshRegion
from rtswap.detect.torch_analysis import TorchFaceDetector, TorchFaceMesh
from rtswap.frame import Face
from rtswap.generate.face_swap import FaceSwap
from rtswap.geometry.crops import FaceRegions
from rtswap.media.samples import astronaut, grace_hopper_path
from rtswap.runtime.cuda_graph import CudaGraphed
from rtswap.swapper import Swapper

_TIMED = 20
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
    """Operations in one call after a first (which may capture a CUDA graph)."""
    with torch.inference_mode():
        step()
        with _Counter() as counter:
            step()
    return sum(counter.ops.values())


def _scene(faces: int) -> np.ndarray:
    face = cv2.resize(astronaut(), (360, 360), interpolation=cv2.INTER_AREA)
    return np.hstack([face] * faces)


def _median_ms(step: Callable[[], object], device: torch.device) -> float:
    times = []
    with torch.inference_mode():
        for k in range(_TIMED + 1):
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if k:  # the first call is not counted
                times.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(times)


def _steps(face_swap: FaceSwap, frame: torch.Tensor, faces: list[Face]) -> dict[str, Callable[[], object]]:
    """Each step of a frame, as it runs on ``frame``'s device; the face analysis is that of
    ``--landmarks torch`` (the PyTorch ports of mediapipe's networks)."""
    detector, mesh = TorchFaceDetector(frame.device), TorchFaceMesh(frame.device)
    followed: list[tuple[np.ndarray, int | None]] = [(face.box, key) for key, face in enumerate(faces)]
    mesh.landmarks_many(frame, followed)  # from now on each face is followed from its landmarks
    work = face_swap.swap(frame, faces)
    assert work is not None
    face_swap.composite(work)
    changes = work.changes
    assert changes is not None
    regions = FaceRegions(frame, work.regions.matrices, work.regions.size, opencv=False)
    one_each = [FaceRegions(frame, [m], work.regions.size, opencv=False) for m in regions.matrices]
    network = FaceMeshNet().to(frame.device).eval()
    graphed = CudaGraphed(network)  # on the CPU the network itself
    with torch.inference_mode():
        mesh_crops = crops(frame, [MeshRegion.around(face.landmarks) for face in faces])
    eyes = eye_openings(work.landmarks, work.crops.shape[-1])
    return {
        "detector, whole frame": lambda: detector.detect(frame),
        "face mesh, followed": lambda: mesh.landmarks_many(frame, followed),
        "face mesh network, eager": lambda: network(mesh_crops),
        "face mesh network, CUDA graph": lambda: graphed(mesh_crops),
        "crop, batched": regions.crop,
        "crop, face by face": lambda: [r.crop() for r in one_each],
        "crop + engine (warp)": lambda: face_swap.swap(frame, faces),
        "occluders": lambda: occluders(work.crops, work.landmarks, work.mask),
        "composite, eager": lambda: composite_tensor(work.crops, work.swapped, work.mask, eyes),
        "composite, CUDA graph": lambda: graphed_composite(work.crops, work.swapped, work.mask, eyes),
        "paste, batched": lambda: regions.paste(frame.clone(), changes),
        "paste, face by face": lambda: _paste_one_by_one(one_each, frame.clone(), changes),
    }


def _paste_one_by_one(regions: list[FaceRegions], frame: torch.Tensor, changes: torch.Tensor) -> None:
    for k, region in enumerate(regions):
        region.paste(frame, changes[k : k + 1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    measured: dict[int, dict[str, tuple[int, float]]] = {}
    config = SwapConfig(device=args.device)
    with FaceAnalyzer() as analyzer, Swapper(grace_hopper_path(), config, progress=False) as swapper:
        for faces in (1, 4):
            image = _scene(faces)
            found = analyzer.analyze(image)
            assert len(found) == faces
            steps = _steps(swapper.face_swap, torch.from_numpy(image).to(device), found)
            measured[faces] = {name: (_count(step), _median_ms(step, device)) for name, step in steps.items()}
    print(f"on {device}; operations and median ms per call, with 1 face and with 4")
    print(f"{'step':<31}{'ops 1':>7}{'ops 4':>7}{'ms 1':>9}{'ms 4':>9}")
    for name, (ops, ms) in measured[1].items():
        ops4, ms4 = measured[4][name]
        print(f"{name:<31}{ops:>7}{ops4:>7}{ms:>9.2f}{ms4:>9.2f}")
    if args.json:
        rows = [
            {"faces": n, "step": name, "operations": ops, "median_ms": round(ms, 3)}
            for n, steps_measured in measured.items()
            for name, (ops, ms) in steps_measured.items()
        ]
        result = {"machine": machine(), "device": str(device), "rows": rows}
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
