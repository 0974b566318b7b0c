"""``inductor``: ``torch.compile`` with a fixed set of batch sizes, CUDA graphs on GPU.

Each batch is padded up to the next bucket (1, 2, 4, 8) so the compiled graph only ever sees
those shapes: no recompilation when the number of faces changes, and on CUDA each bucket is one
captured CUDA graph. Compiled kernels land in inductor's on-disk cache (a folder of rtswap's
cache, unless ``TORCHINDUCTOR_CACHE_DIR`` says otherwise), which ``rtswap engines build``
warms ahead of time.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence

import torch
from torch import nn

log = logging.getLogger("rtswap")

BUCKETS = (1, 2, 4, 8)


def use_rtswap_cache_dir() -> None:
    """Point inductor's compiled-code cache at rtswap's cache folder (unless already set)."""
    import platformdirs

    os.environ.setdefault(
        "TORCHINDUCTOR_CACHE_DIR", os.path.join(platformdirs.user_cache_dir("rtswap"), "inductor")
    )


def bucket(batch: int) -> int:
    """The smallest bucket that holds ``batch`` items (at most the largest bucket)."""
    return next((b for b in BUCKETS if b >= batch), BUCKETS[-1])


class InductorRunner:
    name = "inductor"

    def __init__(
        self,
        module: nn.Module,
        example: Sequence[torch.Tensor],
        device: torch.device,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        """``example``: one set of inputs (a batch of one) that :meth:`warmup` compiles with."""
        use_rtswap_cache_dir()
        self.device, self.dtype, self.example = device, dtype, [x.to(device) for x in example]
        self.module = module.to(device, dtype).eval().requires_grad_(False)
        # reduce-overhead = CUDA graphs; on CPU the default mode
        mode = "reduce-overhead" if device.type == "cuda" else None
        self._compiled = torch.compile(self.module, mode=mode, dynamic=False, fullgraph=True)
        self._warm: set[int] = set()

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        """Every call feeds the compiled graph the same kind of tensors as warm-up did: fresh,
        contiguous inference tensors of a bucket's size, whatever the caller passed (a view, a
        tensor made outside inference mode): any difference in their guards would recompile."""
        batch = inputs[0]
        outputs = []
        with torch.inference_mode():
            shared = [x.to(self.device, self.dtype, copy=True) for x in inputs[1:]]
            for start in range(0, len(batch), BUCKETS[-1]):
                chunk = batch[start : start + BUCKETS[-1]]
                part = chunk.new_zeros(bucket(len(chunk)), *chunk.shape[1:], dtype=self.dtype)
                part[: len(chunk)] = chunk
                if self.device.type == "cuda":
                    torch.compiler.cudagraph_mark_step_begin()
                # CUDA graphs reuse their output buffer: copy out before the next call
                outputs.append(self._compiled(part, *shared)[: len(chunk)].float().clone())
        return torch.cat(outputs)

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Compile (or load from the cache) the buckets that ``batch_sizes`` fall into."""
        first, *shared = self.example
        calls = 3 if self.device.type == "cuda" else 1  # CUDA graphs are recorded on a later call
        sizes = sorted({bucket(b) for b in batch_sizes} - self._warm)
        if not sizes:
            return
        log.info("torch.compile: building for batches of %s (cached on disk after the first time)", sizes)
        start = time.monotonic()
        for size in sizes:
            for _ in range(calls):  # through __call__, as live frames go
                self(first.expand(size, *first.shape[1:]), *shared)
        self._warm.update(sizes)
        log.info("torch.compile: ready in %.1f s", time.monotonic() - start)
