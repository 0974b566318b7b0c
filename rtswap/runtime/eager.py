"""``eager``: a PyTorch module run as it is. The reference every other backend is checked against."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class EagerRunner:
    name = "eager"

    def __init__(
        self,
        module: nn.Module,
        device: torch.device,
        dtype: torch.dtype = torch.float32,
        example: Sequence[torch.Tensor] = (),
    ) -> None:
        """``example``: one set of inputs, a batch of one, for :meth:`warmup`."""
        self.module = module.to(device, dtype).eval().requires_grad_(False)
        self.device, self.dtype, self.example = device, dtype, example

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.module(*(x.to(self.dtype) for x in inputs)).float()

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """On CUDA, run once at each batch size: the first launch of each kernel loads it (CUDA
        loads modules lazily) and picks its cuDNN algorithm, which a live frame would wait for.
        On the CPU there is nothing to load."""
        if self.device.type != "cuda":
            return
        assert self.example, "warming up needs an example"
        first, *shared = (x.to(self.device) for x in self.example)
        for size in sorted(set(batch_sizes)):
            self(first.expand(size, *first.shape[1:]).contiguous(), *shared)
