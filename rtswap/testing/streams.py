"""Work on CUDA from several threads at once, each on its own stream, as the pipeline's stages do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import torch

T = TypeVar("T")


def on_own_streams(work: Callable[[int], T], count: int = 2) -> list[T | None]:
    """``work(k)`` for each k below ``count``, each in a thread of its own on a CUDA stream of its
    own, started together; their results once every thread and the device are done (None where a
    thread raised)."""
    start = threading.Barrier(count)
    results: list[T | None] = [None] * count

    def run(k: int) -> None:
        start.wait()
        with torch.cuda.stream(torch.cuda.Stream()), torch.inference_mode():
            results[k] = work(k)
        torch.cuda.synchronize()

    threads = [threading.Thread(target=run, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
