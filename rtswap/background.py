"""Periodic looks off the frame path: a thread that runs them while the frames go on.

On live input a refreshed occluder map, glasses look or camera look (composite stage), or a look
for hands (detect stage) - a few to tens of milliseconds, on some frames - would otherwise land on
the frame that happens to be due and make a spike in its latency. Given to
:class:`~rtswap.blend.tracked.TrackedLooks` or :class:`~rtswap.detect.hands.HandWatch`, this
runs the look instead, on the frame's data as it was; the frames go on with the previous look
until the new one is ready (a frame or two later). A face's first look is never deferred.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

log = logging.getLogger(__name__)

MAX_WAITING = 4
"""Jobs waiting at most; a job offered beyond them is not taken (it is offered again later)."""


@dataclass
class LookTimes:
    """A background thread's looks: how long each took, and how old its frame was when its result
    was ready for the frames that follow (from the frame being handed to the look: its wait in
    the queue and its run)."""

    costs_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    ages_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))


class Background:
    """One daemon thread running jobs in turn. Not for more than one stream."""

    def __init__(self, device: torch.device) -> None:
        """``device``: where the looks' tensors are."""
        self.device = device
        self.times = LookTimes()
        self._jobs: queue.Queue[tuple[Callable[[], None], torch.cuda.Event | None, float] | None] = (
            queue.Queue(MAX_WAITING)
        )
        self._thread = threading.Thread(target=self._run, name="rtswap-looks", daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], None]) -> bool:
        """Run ``job`` on the thread, after the work queued so far on the current stream (the
        tensors it reads are written by then). False if too many jobs are waiting."""
        ready = None
        if self.device.type == "cuda":
            ready = torch.cuda.Event()
            ready.record(torch.cuda.current_stream(self.device))
        try:
            self._jobs.put_nowait((job, ready, time.perf_counter()))
        except queue.Full:
            return False
        return True

    def close(self) -> None:
        """Finish the job running, drop the waiting ones, and end the thread."""
        while True:
            try:
                self._jobs.get_nowait()
            except queue.Empty:
                break
        self._jobs.put(None)
        self._thread.join()

    def _run(self) -> None:
        with torch.inference_mode():
            while (item := self._jobs.get()) is not None:
                job, ready, submitted = item
                start = time.perf_counter()
                try:
                    if ready is not None:
                        ready.synchronize()
                    job()
                    if ready is not None:  # its results are complete before anyone reads them
                        torch.cuda.current_stream().synchronize()
                except Exception:  # a look that fails leaves the previous one in use
                    log.exception("a background look failed; the previous one stays in use")
                done = time.perf_counter()
                self.times.costs_ms.append((done - start) * 1000)
                self.times.ages_ms.append((done - submitted) * 1000)
