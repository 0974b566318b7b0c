"""Runtime backends: one way each of running a network, behind one small interface.

- ``eager``: plain PyTorch, the reference (CPU or CUDA).
- ``inductor``: ``torch.compile`` (CUDA graphs on GPU) with fixed batch buckets.
- ``onnxruntime``: an ONNX file (CPU; CUDA with io_binding when onnxruntime-gpu is installed).
- ``tensorrt``: an ONNX file built into a TensorRT plan (optional extra; CUDA only).
"""

from __future__ import annotations

import importlib.util
import shutil
from typing import TYPE_CHECKING, Literal

from rtswap.errors import DependencyError, InputError

if TYPE_CHECKING:
    import torch

BACKENDS = ("eager", "inductor", "onnxruntime", "tensorrt")
Precision = Literal["fp32", "fp16", "bf16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "fp16", "bf16")


def available_backends(device: torch.device) -> list[str]:
    """The backends that can run on ``device`` on this machine."""
    found = ["eager"]
    if shutil.which("g++") or shutil.which("c++"):  # inductor builds C++ (CPU) or Triton (CUDA) kernels
        found.append("inductor")
    if importlib.util.find_spec("onnxruntime") is not None:
        found.append("onnxruntime")
    if device.type == "cuda" and importlib.util.find_spec("tensorrt") is not None:
        found.append("tensorrt")
    return found


def plugin_backend(requested: str, device: torch.device, plugin: str) -> str:
    """The backend of a plugin's ONNX file (a restorer's, a mask model's): ``--backend`` where it
    runs ONNX files as they are (onnxruntime, TensorRT), else what ``auto`` picks for them (an
    engine asked to run eager or with inductor keeps that; the plugin's file cannot)."""
    return choose_backend(requested if requested in ("onnxruntime", "tensorrt") else "auto", device, plugin)


def choose_backend(requested: str, device: torch.device, onnx_only: str | None = None) -> str:
    """``requested`` if it can run here, or for ``auto``: TensorRT if installed on CUDA, else
    inductor on CUDA, else onnxruntime on CPU, else eager. ``onnx_only``: the name of an engine
    that runs an ONNX file as it is (onnxruntime or TensorRT, nothing else)."""
    available = available_backends(device)
    if requested not in ("auto", *BACKENDS):
        raise InputError(f"unknown backend {requested!r}; choose from auto, {', '.join(BACKENDS)}")
    if onnx_only and requested in ("eager", "inductor"):
        raise InputError(f"{onnx_only} runs its ONNX file as it is: --backend onnxruntime or tensorrt")
    if requested == "auto":
        order = (
            ("tensorrt", "onnxruntime" if onnx_only else "inductor")
            if device.type == "cuda"
            else ("onnxruntime",)
        )
        found = next((b for b in order if b in available), None)
        if found is None and onnx_only:
            raise DependencyError(f"{onnx_only} needs onnxruntime (pip install -e '.[neural]') or TensorRT")
        return found or "eager"
    if requested in available:
        return requested
    if requested == "tensorrt":
        if device.type != "cuda":
            raise InputError("--backend tensorrt needs a CUDA device (--device cuda)")
        raise DependencyError("--backend tensorrt needs TensorRT: pip install -e '.[tensorrt]'")
    if requested == "onnxruntime":
        raise DependencyError("--backend onnxruntime needs onnxruntime: pip install -e '.[neural]'")
    raise DependencyError("--backend inductor needs a C++ compiler (g++ or clang++)")
