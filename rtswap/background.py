"""Periodic looks off the frame path: a thread that runs them while the frames go on.

On live input a refreshed occluder map, glasses look or camera look (composite stage), or a look
for hands (detect stage) - a few to tens of milliseconds, on some frames - would otherwise land on
the frame that happens to be due and make a spike in its latency. Given to
:class:`~rtswap.blend.tracked.TrackedLooks` or :class:`~rtswap.detect.hands.HandWatch`, this
runs the look instead, on the frame's data as it was; the frames go on with the previous look
until the new one is ready (a frame or two later). A face's first look is never deferred.

A look run alongside the frame it was handed over from still made that frame's later stages wait
for a core (on two cores, the composite's and the output's p99 were 3-5x their p50 on the paced
720p clip: the occluder look on every 3rd frame took turns with them). So a look waits for the
pipeline's slack: until that frame has left the pipeline (:class:`FramePath`), at most
:data:`MAX_DEFER_S`; a paced stream's looks then run between its frames.
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
MAX_DEFER_S = 0.05
"""A look waits for the frame path's slack this long at most (a path that is never idle)."""


class FramePath:
    """A live pipeline's frames as its background threads see them: how many have left it (been
    output), for a look to wait until the frame it was handed over from has."""

    def __init__(self) -> None:
        self._out = 0
        self._changed = threading.Condition()

    @property
    def out(self) -> int:
        """Frames output so far."""
        return self._out

    def frame_out(self) -> None:
        """Called by the output stage after each frame."""
        with self._changed:
            self._out += 1
            self._changed.notify_all()

    def wait_past(self, out: int, deadline: float) -> None:
        """Wait until more than ``out`` frames are out, or until ``deadline`` (``time.perf_counter``)."""
        with self._changed:
            while self._out <= out and (left := deadline - time.perf_counter()) > 0:
                self._changed.wait(left)


@dataclass
class LookTimes:
    """A background thread's looks: how long each took, and how old its frame was when its result
    was ready for the frames that follow (from the frame being handed to the look: its wait in
    the queue and its run)."""

    costs_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))
    ages_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1024))


_Job = tuple[Callable[[], None], torch.cuda.Event | None, float, int]
"""A job, the event its tensors are ready at (CUDA), when it was handed over, the frames out then."""


class Background:
    """One daemon thread running jobs in turn. Not for more than one stream."""

    def __init__(self, device: torch.device, path: FramePath | None = None) -> None:
        """``device``: where the looks' tensors are; ``path``: the pipeline's frames, whose slack
        each job waits for (None: a job runs as soon as the thread is free)."""
        self.device, self.path = device, path
        self.times = LookTimes()
        self._jobs: queue.Queue[_Job | None] = queue.Queue(MAX_WAITING)
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
            self._jobs.put_nowait(
                (job, ready, time.perf_counter(), 0 if self.path is None else self.path.out)
            )
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
                job, ready, submitted, out = item
                if self.path is not None:
                    self.path.wait_past(out, submitted + MAX_DEFER_S)
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
