"""The torch device: choosing it from ``--device auto|cpu|cuda[:N]``, and getting tensors onto
it without making the host wait for it."""

from __future__ import annotations

import numpy as np
import torch

from rtswap.errors import InputError

CPU = torch.device("cpu")


def resolve_device(spec: str = "auto") -> torch.device:
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(spec)
    except RuntimeError as exc:
        raise InputError(f"--device {spec!r}: expected auto, cpu or cuda[:N]") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {spec}: this PyTorch build or machine has no CUDA device")
    if device.type not in ("cpu", "cuda"):
        raise InputError(f"--device {spec}: only cpu and cuda are supported")
    return device


class Constant:
    """A constant tensor, copied to each device once and kept there. Copied on every call, it
    would make the host wait for the device each time (a copy from pageable host memory waits for
    the stream), many times a frame."""

    def __init__(self, values: object, dtype: torch.dtype | None = None) -> None:
        self.cpu = torch.as_tensor(values, dtype=dtype)
        self._copies = {self.cpu.device: self.cpu}

    def on(self, device: torch.device) -> torch.Tensor:
        copy = self._copies.get(device)
        if copy is None:  # two threads may both copy once: either copy is right
            copy = self._copies[device] = self.cpu.to(device)
        return copy

    def like(self, tensor: torch.Tensor) -> torch.Tensor:
        """On ``tensor``'s device, in its dtype."""
        return self.on(tensor.device).to(tensor.dtype)


def upload(values: object, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Host data (an array, a list) as a tensor on ``device``. To CUDA through pinned memory, so
    the host does not wait for the device's queued work before it goes on."""
    tensor = torch.as_tensor(values, dtype=dtype)
    if device.type != "cuda":
        return tensor
    return tensor.pin_memory().to(device, non_blocking=True)


def download(tensor: torch.Tensor) -> np.ndarray:
    """A tensor's values as a host array. From CUDA by one copy into pinned memory, waiting for
    that copy alone (PyTorch's pool reuses the pinned block once the array is gone, so a sink may
    keep the array as long as it likes)."""
    if tensor.device.type != "cuda":
        return tensor.numpy()
    host = torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True)
    host.copy_(tensor, non_blocking=True)
    copied = torch.cuda.Event()
    copied.record(torch.cuda.current_stream(tensor.device))
    copied.synchronize()
    return host.numpy()
