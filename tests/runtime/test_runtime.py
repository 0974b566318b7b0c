"""Runtime backends: which one runs where, and that batching never changes a result."""

from __future__ import annotations

import shutil
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from rtswap.errors import DependencyError, InputError, RtswapError
from rtswap.runtime import available_backends, choose_backend
from rtswap.runtime.base import check_precision
from rtswap.runtime.eager import EagerRunner
from rtswap.runtime.inductor import BUCKETS, InductorRunner, bucket
from rtswap.runtime.module import Serialised
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner, session
from rtswap.testing.replicas import write_arcface

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


def test_after_warm_up_live_batches_never_recompile() -> None:
    """Warm-up feeds the graph what live frames will (inference tensors of every bucket), so a
    frame of 1, then 3, then 5 faces, made inside inference mode or out of it, compiles nothing."""
    torch._dynamo.reset()
    shift = torch.randn(4)
    compiled = InductorRunner(Shared(), (torch.zeros(1, 3, 16, 16), shift), CPU)
    compiled.warmup(BUCKETS)
    compiled_graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    for faces in (1, 3, 5):
        with torch.inference_mode():
            live = torch.rand(faces + 2, 3, 16, 16)[1:-1]  # a view, as a crop batch can be
        compiled(live, shift)
        compiled(torch.rand(faces, 3, 16, 16), shift.clone())  # outside inference mode
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == compiled_graphs


def test_a_shared_runner_runs_one_call_at_a_time() -> None:
    """Sessions share an engine's runner; inductor's CUDA graphs and TensorRT's context cannot
    take two calls at once, so the factory's runner admits one."""
    inside, most = 0, 0

    class Reentrancy:
        name = "probe"

        def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            time.sleep(0.01)
            inside -= 1
            return inputs[0]

        def warmup(self, batch_sizes: Sequence[int]) -> None: ...

    runner = Serialised(Reentrancy())
    threads = [threading.Thread(target=lambda: [runner(torch.zeros(1)) for _ in range(5)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1


def test_inductor_needs_a_compiler_on_cuda_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch.compile's CUDA kernels (Triton) are built with a C compiler: without one, auto must
    not pick inductor on a GPU machine."""
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert "inductor" not in available_backends(torch.device("cuda"))
    assert "inductor" not in available_backends(CPU)


def test_onnxruntime_that_would_fall_back_to_the_cpu_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime whose CUDA provider is listed but does not load runs on its CPU provider with
    only a warning; rtswap refuses in one line instead of running a 'CUDA' engine on the CPU."""
    ort = pytest.importorskip("onnxruntime")
    path = write_arcface(tmp_path / "arcface.onnx")
    monkeypatch.setattr(
        ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # onnxruntime's own warning about the provider
        with pytest.raises(DependencyError, match="CUDA provider did not load"):
            session(path, torch.device("cuda"))


def test_onnxruntime_warms_up_at_every_batch_size_a_frame_can_bring(tmp_path: Path) -> None:
    """Its first run of a shape is slow (buffers; on CUDA, cuDNN's algorithm search): the warm-up
    makes it, at each bucket, instead of a live frame."""
    pytest.importorskip("onnxruntime")
    runner = OnnxRuntimeRunner(
        write_arcface(tmp_path / "arcface.onnx"), torch.device("cpu"), example=[torch.rand(1, 3, 112, 112)]
    )
    ran: list[int] = []
    session = runner.session

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(session, name)

        def run(self, names: object, feed: dict[str, np.ndarray]) -> object:
            ran.append(len(next(iter(feed.values()))))
            return session.run(names, feed)

    runner.session = Counting()
    runner.warmup(BUCKETS)
    assert ran == sorted(BUCKETS)
