"""What every runtime backend offers the engines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch

from rtswap.errors import InputError
from rtswap.runtime import Precision

DTYPES: dict[Precision, torch.dtype] = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class Runner(Protocol):
    """A compiled or loaded network. ``inputs[0]`` is the batch (B, ...); any further inputs are
    the same for every item of the batch (per-identity tensors, no batch dimension). Inputs and
    the output are float32 tensors on the runner's device, whatever precision it computes in."""

    name: str

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor: ...

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Build and run once at these batch sizes (compile, allocate), so later calls are fast."""
        ...


def join_outputs(outputs: list[torch.Tensor]) -> torch.Tensor:
    """One output as it is; several (B, C, H, W) or (B, H, W) maps joined along the channels."""
    if len(outputs) == 1:
        return outputs[0]
    return torch.cat([out if out.ndim == 4 else out[:, None] for out in outputs], dim=1)


def check_precision(backend: str, device: torch.device, precision: Precision) -> torch.dtype:
    """The dtype to compute in, or a one-line error for a combination that cannot run."""
    if precision == "fp32":
        return torch.float32
    if device.type != "cuda":
        raise InputError(f"--precision {precision} needs a CUDA device; on CPU use fp32")
    if backend == "onnxruntime":
        raise InputError("--backend onnxruntime runs the ONNX file as it is (fp32); for fp16 use inductor")
    return DTYPES[precision]
