"""A step's tensor work replayed from CUDA graphs: one launch for all its kernels.

The face mesh port is about 650 small operations on one 192 px crop; on a GPU its time was the
host launching them, not the device running them (31-33 ms a frame on an H200 with the GPU
16-20 % busy; replayed, 1.5 ms: ``docs/speed.md``). A graph is captured at the first call of
each input shape and replayed after. Anywhere else (CPU), or if a capture fails, the step runs
as it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar, cast

import torch

log = logging.getLogger(__name__)

_WARMUP_RUNS = 3
"""Eager runs on a side stream before a capture: kernels loaded and the libraries' one-off
choices made (cuDNN, cuBLAS workspaces), which a capture may not do."""
MAX_GRAPHS = 32
"""Graphs kept per step (each holds its own memory); a step called with more input shapes than
this runs the others eagerly."""
_CAPTURING = threading.Lock()
"""One capture at a time in the process, as CUDA graphs require: captures share PyTorch's capture
stream, so a second one begun while another is under way ends both (the mesh and the composite
each met a new number of faces on their own threads, and both fell back to running eagerly)."""

Outputs = TypeVar("Outputs", bound=torch.Tensor | Sequence[torch.Tensor])
_Key = tuple[object, ...]


class CudaGraphed(Generic[Outputs]):
    """``step(*tensors, **options)``, returning a tensor or a sequence of tensors: on CUDA a graph
    captured at the first call of each input shape (and options, which must be hashable) and
    replayed after; the outputs are the caller's own (copied out of the graph's buffers; a
    sequence comes back as a tuple).
    Thread-safe, whatever stream each thread runs on: one replay at a time, on the device as on
    the host. The step must do on the device all it does with its inputs (no copy to the host,
    no Python decision on their values): a capture records kernels, not Python."""

    def __init__(self, step: Callable[..., Outputs]) -> None:
        self.step = step
        self._graphs: dict[_Key, tuple[torch.cuda.CUDAGraph, list[torch.Tensor], Outputs]] = {}
        self._eager = False
        self._lock = threading.Lock()
        self._replayed: torch.cuda.Event | None = None

    @property
    def capturing(self) -> bool:
        """Whether CUDA calls replay graphs (False once a capture has failed)."""
        return not self._eager

    def __call__(self, *inputs: torch.Tensor, **options: Hashable) -> Outputs:
        if inputs[0].device.type != "cuda" or self._eager:
            return self.step(*inputs, **options)
        key = (*((t.shape, t.dtype, t.device) for t in inputs), *sorted(options.items()))
        with self._lock, torch.inference_mode():
            if key not in self._graphs:
                if len(self._graphs) >= MAX_GRAPHS:
                    return self.step(*inputs, **options)
                try:
                    self._graphs[key] = self._capture(inputs, options)
                except RuntimeError as exc:  # an operation that cannot be captured: run it as it is
                    log.warning("CUDA graph capture of %s failed, running it eagerly: %s", _name(self), exc)
                    self._eager = True
                    return self.step(*inputs, **options)
            graph, static, out = self._graphs[key]
            stream = torch.cuda.current_stream(inputs[0].device)
            if self._replayed is not None:  # a replay queued on another thread's stream reads and
                stream.wait_event(self._replayed)  # writes the same buffers: this one comes after it
            for buffer, tensor in zip(static, inputs, strict=True):
                buffer.copy_(tensor)
            graph.replay()
            copied = out.clone() if isinstance(out, torch.Tensor) else tuple(t.clone() for t in out)
            self._replayed = stream.record_event()
            return cast(Outputs, copied)

    def _capture(
        self, inputs: tuple[torch.Tensor, ...], options: dict[str, Hashable]
    ) -> tuple[torch.cuda.CUDAGraph, list[torch.Tensor], Outputs]:
        static = [t.clone() for t in inputs]
        caller = torch.cuda.current_stream(inputs[0].device)
        side = torch.cuda.Stream(inputs[0].device)
        side.wait_stream(caller)
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_RUNS):
                self.step(*static, **options)
        caller.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread-local: the pipeline's other threads keep using the device while this one captures
        with _CAPTURING, torch.cuda.graph(graph, capture_error_mode="thread_local"):
            out = self.step(*static, **options)
        return graph, static, out


def _name(graphed: CudaGraphed[Outputs]) -> str:
    step = graphed.step
    return getattr(step, "__name__", type(step).__name__)
