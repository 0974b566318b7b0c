"""Runtime backends: which one runs where, and that batching never changes a result."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rtswap.errors import InputError, RtswapError
from rtswap.runtime import available_backends, choose_backend
from rtswap.runtime.base import check_precision
from rtswap.runtime.eager import EagerRunner
from rtswap.runtime.inductor import InductorRunner, bucket

CPU = torch.device("cpu")


def test_auto_on_cpu_is_onnxruntime_and_impossible_choices_are_one_line_errors() -> None:
    assert "onnxruntime" in available_backends(CPU) and "tensorrt" not in available_backends(CPU)
    assert choose_backend("auto", CPU) == "onnxruntime"
    assert choose_backend("eager", CPU) == "eager"
    with pytest.raises(InputError, match="--backend tensorrt needs a CUDA device"):
        choose_backend("tensorrt", CPU)
    with pytest.raises(InputError, match="--precision fp16 needs a CUDA device; on CPU use fp32"):
        check_precision("eager", CPU, "fp16")
    assert check_precision("inductor", CPU, "fp32") == torch.float32


class Shared(nn.Module):
    """A per-item layer plus a per-identity input without a batch axis."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, batch: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        return self.conv(batch) + shift[None, :, None, None]


def test_inductor_pads_batches_to_buckets_without_changing_any_item() -> None:
    assert [bucket(n) for n in (1, 2, 3, 5, 8, 9)] == [1, 2, 4, 8, 8, 8]
    module = Shared()
    shift = torch.randn(4)
    eager = EagerRunner(module, CPU)
    compiled = InductorRunner(module, (torch.zeros(1, 3, 16, 16), shift), CPU)
    for size in (3, 11):  # padded to 4; split into 8 + 3 (padded to 4)
        batch = torch.rand(size, 3, 16, 16)
        out = compiled(batch, shift)
        assert out.shape == (size, 4, 16, 16)
        assert (out - eager(batch, shift)).abs().max() <= 1e-5


def test_errors_are_rtswap_errors() -> None:
    with pytest.raises(RtswapError):
        choose_backend("nonsense", CPU)
