"""The one runner factory: a network's per-frame path on any backend, from its PyTorch module
(eager, inductor) or its ONNX file (onnxruntime, TensorRT)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rtswap.runtime import Precision
from rtswap.runtime.base import Runner
from rtswap.weights.hashes import file_sha256


@dataclass(frozen=True)
class OnnxFile:
    """An ONNX file a runner reads: the user's own, or an export written once."""

    path: Path
    key: str
    """What a TensorRT plan built from it is keyed by (its SHA-256, or what the export was made
    from): the file's name is not enough."""
    plans: Path
    """Where TensorRT plans built from it go."""
    export: Callable[[Path], object] | None = None
    """Writes the file when it is missing (None: it is the user's file)."""
    inputs: Sequence[str] | None = None
    """The graph inputs a call's tensors go to (default: the file's order)..."""
    outputs: Sequence[str] | None = None
    """...and the outputs returned (default: all)."""
    max_batch: int | None = None
    """1 for a file whose batch is fixed at 1 (default: TensorRT's profile maximum)."""
    typical_batch: int = 1
    """The batch one face makes (its boost² sub-grids): what TensorRT tunes the plan for."""


class Serialised:
    """A runner that one thread at a time runs. Sessions share an engine, and so its runner:
    inductor's CUDA graphs replay into the same static buffers and a TensorRT execution context
    is not thread-safe, so two sessions' frames at once could give one the other's face."""

    def __init__(self, runner: Runner) -> None:
        self.runner, self.name = runner, runner.name
        self._lock = threading.Lock()

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        with self._lock:
            return self.runner(*inputs)

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        with self._lock:
            self.runner.warmup(batch_sizes)


def make_runner(
    backend: str,
    device: torch.device,
    precision: Precision,
    dtype: torch.dtype,
    example: Sequence[torch.Tensor],
    module: Callable[[], nn.Module] | None = None,
    onnx: OnnxFile | None = None,
) -> Runner:
    """The runner of ``backend`` (chosen by :func:`~rtswap.runtime.choose_backend`): ``module``
    (made on first need) for eager and inductor, ``onnx`` for onnxruntime and TensorRT, called by
    one thread at a time. ``example``: one set of inputs, a batch of one."""
    return Serialised(_runner(backend, device, precision, dtype, example, module, onnx))


def _runner(
    backend: str,
    device: torch.device,
    precision: Precision,
    dtype: torch.dtype,
    example: Sequence[torch.Tensor],
    module: Callable[[], nn.Module] | None,
    onnx: OnnxFile | None,
) -> Runner:
    if backend in ("onnxruntime", "tensorrt"):
        assert onnx is not None, f"{backend} runs an ONNX file"
        if not onnx.path.exists():
            assert onnx.export is not None, f"{onnx.path} is missing"
            onnx.export(onnx.path)
        if backend == "onnxruntime":
            from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

            return OnnxRuntimeRunner(onnx.path, device, onnx.inputs, onnx.outputs, example)
        from rtswap.runtime.tensorrt import MAX_BATCH, TensorRTRunner

        return TensorRTRunner(
            onnx.path,
            f"{onnx.key}:{file_sha256(onnx.path)}",  # the file itself, not only what it was made from
            example,
            device,
            precision,
            onnx.plans,
            onnx.inputs,
            onnx.outputs,
            max_batch=onnx.max_batch or MAX_BATCH,
            typical_batch=onnx.typical_batch,
        )
    assert module is not None, f"{backend} runs a PyTorch module"
    if backend == "inductor":
        from rtswap.runtime.inductor import InductorRunner

        return InductorRunner(module(), example, device, dtype)
    from rtswap.runtime.eager import EagerRunner

    return EagerRunner(module(), device, dtype, example)
