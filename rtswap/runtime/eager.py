"""``eager``: a PyTorch module run as it is. The reference every other backend is checked against."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EagerRunner:
    name = "eager"

    def __init__(self, module: nn.Module, device: torch.device, dtype: torch.dtype = torch.float32) -> None:
        self.module = module.to(device, dtype).eval().requires_grad_(False)
        self.device, self.dtype = device, dtype

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(*(x.to(self.dtype) for x in inputs)).float()

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Nothing to build ahead of time."""
