"""One pipeline stage: a named thread that takes frames from one ring and puts them in the next."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import torch

from rtswap.frame import Frame, now_ns
from rtswap.pipeline.ring import Ring

Step = Callable[[Frame | None], Frame | None]
"""A stage's work on one frame. The first stage gets None and returns the next frame (None: the
input has ended); the others get a frame and return it (None: skip it)."""


class Stage:
    """Runs ``step`` on every frame from ``inbox`` (or, first stage, until ``step`` returns None)
    and passes the results to ``outbox``. An exception stops the stage, is kept in ``error`` and
    sets ``stop`` so the other stages end too; the outbox is always closed, so the next stage
    drains and ends."""

    def __init__(
        self,
        name: str,
        step: Step,
        inbox: Ring[Frame] | None,
        outbox: Ring[Frame] | None,
        stop: threading.Event,
        device: torch.device,
    ) -> None:
        self.name, self.step, self.inbox, self.outbox, self.stop = name, step, inbox, outbox, stop
        self.device = device
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"rtswap-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            with self._stream() as stream:
                while not self.stop.is_set():
                    frame = self.inbox.get() if self.inbox is not None else None
                    if frame is None and self.inbox is not None:
                        return  # upstream ended and its ring is drained
                    out = self.run_step(frame, stream)
                    if out is None:
                        if self.inbox is None:
                            return  # the input has ended
                        continue
                    if self.outbox is not None and not self.outbox.put(out):
                        return
        except BaseException as exc:  # handed to the caller with the stage's name
            self.error = exc
            self.stop.set()
        finally:
            if self.outbox is not None:
                self.outbox.close()

    def run_step(self, frame: Frame | None, stream: torch.cuda.Stream | None = None) -> Frame | None:
        """The step on one frame, stamped with this stage's start and end; on CUDA, queued on the
        stage's stream after the previous stage's event, and followed by this stage's event."""
        start = now_ns()
        if stream is None:
            out = self.step(frame)
        else:
            with torch.cuda.stream(stream):
                if frame is not None and frame.ready is not None:
                    stream.wait_event(frame.ready)
                if frame is not None:
                    frame.record_stream(stream)
                began = torch.cuda.Event(enable_timing=True)
                began.record(stream)
                out = self.step(frame)
                if out is not None:
                    out.ready = torch.cuda.Event(enable_timing=True)
                    out.ready.record(stream)
                    out.device_time[self.name] = (began, out.ready)
        if out is not None:
            out.stamps[self.name] = (out.capture_ns if frame is None else start, now_ns())
        return out

    @contextlib.contextmanager
    def _stream(self) -> Iterator[torch.cuda.Stream | None]:
        """This thread's CUDA stream (None on CPU), with inference mode on: no autograd
        bookkeeping per op (inference mode is per thread)."""
        with torch.inference_mode():
            yield torch.cuda.Stream(self.device) if self.device.type == "cuda" else None
