"""Choosing the torch device from ``--device auto|cpu|cuda[:N]``."""

from __future__ import annotations

import torch

from rtswap.errors import InputError


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
