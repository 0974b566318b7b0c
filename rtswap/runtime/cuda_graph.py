"""A small network's forward replayed from CUDA graphs: one launch for all its kernels.

The face mesh port is about 650 small operations on one 192 px crop; on a GPU its time is the
host launching them, not the device running them (31-33 ms a frame on an H200 with the GPU
16-20 % busy: ``docs/speed.md``). Captured once per batch size, a replay is one launch.
Anywhere else (CPU), or if a capture fails, the network runs as it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

import torch

log = logging.getLogger(__name__)

_WARMUP_RUNS = 3
"""Eager runs on a side stream before a capture: kernels loaded and the libraries' one-off
choices made (cuDNN, cuBLAS workspaces), which a capture may not do."""


_Outputs = torch.Tensor | Sequence[torch.Tensor]


class CudaGraphed:
    """``module(x)`` for one tensor ``x``, returning a tensor or a sequence of tensors: on CUDA a
    graph captured at the first call of each input shape and replayed after; the outputs are
    the caller's own (copied out of the graph's buffers). Thread-safe, whatever stream each
    thread runs on: one replay at a time, on the device as on the host."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.module = module
        self._graphs: dict[tuple[int, ...], tuple[torch.cuda.CUDAGraph, torch.Tensor, _Outputs]] = {}
        self._eager = False
        self._lock = threading.Lock()
        self._replayed: torch.cuda.Event | None = None

    @property
    def capturing(self) -> bool:
        """Whether CUDA calls replay graphs (False once a capture has failed)."""
        return not self._eager

    def __call__(self, x: torch.Tensor) -> _Outputs:
        if x.device.type != "cuda" or self._eager:
            return self.module(x)
        with self._lock, torch.inference_mode():
            shape = tuple(x.shape)
            if shape not in self._graphs:
                try:
                    self._graphs[shape] = self._capture(x)
                except RuntimeError as exc:  # an operation that cannot be captured: run it as it is
                    log.warning("CUDA graph capture of %s failed, running it eagerly: %s", _name(self), exc)
                    self._eager = True
                    return self.module(x)
            graph, static, out = self._graphs[shape]
            stream = torch.cuda.current_stream(x.device)
            if self._replayed is not None:  # a replay queued on another thread's stream reads and
                stream.wait_event(self._replayed)  # writes the same buffers: this one comes after it
            static.copy_(x)
            graph.replay()
            copied = out.clone() if isinstance(out, torch.Tensor) else tuple(t.clone() for t in out)
            self._replayed = stream.record_event()
            return copied

    def _capture(self, x: torch.Tensor) -> tuple[torch.cuda.CUDAGraph, torch.Tensor, _Outputs]:
        static = x.clone()
        caller = torch.cuda.current_stream(x.device)
        side = torch.cuda.Stream(x.device)
        side.wait_stream(caller)
        with torch.cuda.stream(side):
            for _ in range(_WARMUP_RUNS):
                self.module(static)
        caller.wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        # thread-local: the pipeline's other threads keep using the device while this one captures
        with torch.cuda.graph(graph, capture_error_mode="thread_local"):
            out = self.module(static)
        return graph, static, out


def _name(graphed: CudaGraphed) -> str:
    return type(graphed.module).__name__
