"""A PyTorch module's per-frame path on any backend: the module itself (eager, inductor), or its
ONNX export under onnxruntime or TensorRT."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import nn

from rtswap.runtime import Precision
from rtswap.runtime.base import Runner


def module_runner(
    backend: str,
    module: nn.Module,
    example: Sequence[torch.Tensor],
    onnx_path: Path,
    export: Callable[[Path], object],
    device: torch.device,
    precision: Precision,
    dtype: torch.dtype,
    max_batch: int | None = None,
) -> Runner:
    """``example``: one set of inputs, a batch of one; ``export`` writes the module's ONNX to
    ``onnx_path`` (once: the file is reused, so its name must say what it was made from);
    ``max_batch`` 1 for an export whose batch is fixed at 1. TensorRT plans go next to the ONNX."""
    if backend in ("onnxruntime", "tensorrt"):
        if not onnx_path.exists():
            export(onnx_path)
        if backend == "onnxruntime":
            from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

            return OnnxRuntimeRunner(onnx_path, device)
        from rtswap.runtime.tensorrt import MAX_BATCH, TensorRTRunner

        plans, key = onnx_path.parent, onnx_path.stem  # the name says what it was made from
        return TensorRTRunner(
            onnx_path, key, example, device, precision, plans, max_batch=max_batch or MAX_BATCH
        )
    if backend == "inductor":
        from rtswap.runtime.inductor import InductorRunner

        return InductorRunner(module, example, device, dtype)
    from rtswap.runtime.eager import EagerRunner

    return EagerRunner(module, device, dtype)
