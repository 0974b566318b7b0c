"""The pipeline: wires the six steps (capture -> detect -> track -> swap -> composite -> output),
a thread per step joined by bounded rings, and the governor. The steps live in their own packages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch

from rtswap.background import FramePath, LookTimes
from rtswap.blend.step import Composite
from rtswap.capture.base import Source
from rtswap.capture.step import Capture
from rtswap.detect.step import Detect
from rtswap.errors import RtswapError
from rtswap.frame import Frame
from rtswap.generate.face_swap import FaceSwap
from rtswap.generate.step import Generate
from rtswap.levels import LEVELS, Level, levels
from rtswap.output.base import Sink
from rtswap.output.stats import PipelineStats
from rtswap.output.step import Output
from rtswap.pipeline.governor import Governor, default_budget_ms
from rtswap.pipeline.ring import Policy, Ring
from rtswap.pipeline.stage import Stage, Step
from rtswap.track.step import Track

STAGES = ("capture", "detect", "track", "swap", "composite", "output")
_JOIN_TIMEOUT_S = 10.0
_POLL_S = 0.05
"""A stage still running this long after stop is stuck (e.g. in a driver call); the threads are
daemons, so it cannot keep the process alive."""


class StageError(RtswapError):
    """A stage failed; the message starts with the stage's name."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(f"{stage}: {error}")
        self.stage, self.error = stage, error


@dataclass
class PipelineConfig:
    live: bool
    """Live input: rings drop the oldest frame when full (latency stays low). Otherwise rings
    block and every frame is kept."""
    detect_every: int = 10
    """While faces are tracked, the face detector scans the whole frame once every this many
    frames, and one tile halfway between (every frame gets the full scan while no face is
    tracked)."""
    max_faces: int | None = None
    """Swap at most this many faces per frame, largest first."""
    label: bool = True
    """Draw the visible 'AI face swap' label on every output frame."""
    latency_budget_ms: float | None = None
    """Live input: the governor lowers per-frame work to keep glass-to-glass p95 under this
    (None: 2.5 frame intervals of the input; 0: no governor, work stays at full quality)."""
    vfr: bool = False
    """Recordings of live input keep each frame's own timestamp (a variable frame rate) instead of
    a constant rate with dropped frames repeated."""
    ring_capacity: int | None = None
    """Frames each ring between two stages holds. Default: 1 for live input (a stage always
    gets the newest frame), 2 otherwise (absorbs jitter in stage times, so no stage idles)."""


@dataclass
class RunReport:
    captured: int
    """Frames the source delivered."""
    dropped: int
    """Frames the rings dropped (live input only)."""
    capture_s: float
    """Time from the first to the last captured frame."""
    stats: PipelineStats = field(repr=False)

    @property
    def fps_in(self) -> float:
        return round((self.captured - 1) / self.capture_s, 2) if self.capture_s > 0 else 0.0


class Pipeline:
    """Swaps the faces of every frame of ``source`` into ``sinks``.

    >>> report = Pipeline(swapper.face_swap, source, [sink], PipelineConfig(live=True)).run()
    """

    def __init__(
        self,
        face_swap: FaceSwap,
        source: Source,
        sinks: list[Sink],
        config: PipelineConfig,
        on_output: Callable[[Frame, np.ndarray], None] | None = None,
        stats: PipelineStats | None = None,
    ) -> None:
        self.face_swap, self.source, self.sinks, self.config = face_swap, source, sinks, config
        self.on_output = on_output
        self.stats = stats or PipelineStats()
        self._stop = threading.Event()
        self.governor: Governor | None = None
        budget = config.latency_budget_ms
        if config.live and budget != 0:
            self.governor = Governor(
                budget or default_budget_ms(float(source.info.rate)),
                levels=levels(restorer=face_swap.restorer is not None),
            )
        self._capture: Capture | None = None
        self._path: FramePath | None = None
        """A live run's frames, whose slack the background looks wait for."""
        self._first_composited = threading.Event()
        self.hand_look_times: LookTimes | None = None
        """Live with hands: the background hand looks' costs and ages (set when the stages are built)."""
        self.scan_times: LookTimes | None = None
        """Live: the detector's background scans for new faces, their costs and ages (likewise)."""

    @property
    def captured(self) -> int:
        """Frames the source has delivered so far."""
        return 0 if self._capture is None else self._capture.count

    @classmethod
    def open(
        cls,
        face_swap: FaceSwap,
        source: Source,
        outputs: list[str],
        config: PipelineConfig,
        on_output: Callable[[Frame, np.ndarray], None] | None = None,
    ) -> Pipeline:
        """A pipeline from ``source`` to the sinks named by ``outputs`` (see ``open_sink``). If a
        sink cannot be opened, the source and the sinks already open are closed."""
        from rtswap.output.open import open_sink

        stats = PipelineStats()
        sinks: list[Sink] = []
        try:
            for spec in outputs:
                sinks.append(open_sink(spec, source, stats, vfr=config.vfr))
        except BaseException:
            for sink in sinks:
                sink.abort()
            source.close()
            raise
        return cls(face_swap, source, sinks, config, on_output, stats)

    def stop(self) -> None:
        """Ask a running pipeline to end (from any thread); ``run`` then returns normally."""
        self._stop.set()

    def run(self, seconds: float | None = None) -> RunReport:
        """Run on threads until the input ends, ``seconds`` pass, a sink's window is closed,
        :meth:`stop` or Ctrl-C (live input). Sinks are closed on success, and for live input
        also on failure (a recording keeps what it has); otherwise aborted on failure.
        Raises :class:`StageError` naming the stage that failed."""
        capture, analysis, stages = self._build()
        rings: list[Ring[Frame]] = [s.outbox for s in stages if s.outbox is not None]
        ok = False
        try:
            for stage in stages:
                stage.start()
            self._wait(stages, seconds)
            ok = True
        except KeyboardInterrupt:
            if not self.config.live:
                raise
            ok = True  # Ctrl-C is how a live session ends
        finally:
            self._stop.set()
            for ring in rings:
                ring.close()
            for stage in stages:
                stage.join(_JOIN_TIMEOUT_S)
            for part in analysis:
                part.close()
            self.face_swap.end_stream()
            self.source.close()
            failed = next((s for s in stages if s.error is not None), None)
            # a live recording keeps what it has when the camera goes; a file job's output is
            # all or nothing
            self._close_sinks(keep=ok and failed is None or self.config.live, report=failed is None)
        if failed is not None:
            assert failed.error is not None
            raise StageError(failed.name, failed.error) from failed.error
        return self._report(capture, rings)

    def run_sequential(self, seconds: float | None = None) -> RunReport:
        """The same stages one after another in the calling thread: the baseline that the
        threaded pipeline is measured against."""
        capture, analysis, stages = self._build()
        deadline = None if seconds is None else time.monotonic() + seconds
        try:
            with torch.inference_mode():  # as in the stage threads
                while deadline is None or time.monotonic() < deadline:
                    frame = stages[0].run_step(None)
                    if frame is None:
                        break
                    for stage in stages[1:]:
                        frame = stage.run_step(frame)
                        assert frame is not None or stage.name == "output"
        finally:
            for part in analysis:
                part.close()
            self.face_swap.end_stream()
            self.source.close()
            self._close_sinks(keep=True, report=True)
        return self._report(capture, [])

    def _build(self) -> tuple[Capture, tuple[Detect, Track], list[Stage]]:
        _one_intra_op_thread()
        self.face_swap.warmup()
        self._path = FramePath() if self.config.live else None
        self.face_swap.new_stream(self._path)
        device = self.face_swap.device
        self._first_composited.clear()
        first_through = self._first_frame_through if self.config.live else None
        capture = self._capture = Capture(self.source, device, first_through)
        track = Track(self.config.max_faces, self.face_swap.landmarks, device)
        detect = Detect(
            self.config.detect_every,
            lambda: track.tracking,
            lambda: self._level().detect_slower,
            self.face_swap.landmarks,
            device,
            hands=self.face_swap.keep_occluders,
            live=self._path,
        )
        steps: list[Step] = [
            capture,
            detect,
            track,
            Generate(self.face_swap, self._level),
            _signalling(Composite(self.face_swap.compositor, self._level), self._first_composited),
            Output(self.sinks, self.stats, self.config.label, self.on_output, self._observe),
        ]
        policy: Policy = "latest" if self.config.live else "block"
        capacity = self.config.ring_capacity or (1 if self.config.live else 2)
        rings: list[Ring[Frame]] = [Ring(capacity, policy) for _ in steps[1:]]
        inboxes: list[Ring[Frame] | None] = [None, *rings]
        outboxes: list[Ring[Frame] | None] = [*rings, None]
        stages = [
            Stage(name, step, inbox, outbox, self._stop, device)
            for name, step, inbox, outbox in zip(STAGES, steps, inboxes, outboxes, strict=True)
        ]
        self.hand_look_times, self.scan_times = detect.hand_look_times, detect.scan_times
        return capture, (detect, track), stages

    def _first_frame_through(self) -> bool:
        """Wait until the first frame is composited; False if the run stops first."""
        while not self._first_composited.wait(_POLL_S):
            if self._stop.is_set():
                return False
        return True

    def _level(self) -> Level:
        return LEVELS[0] if self.governor is None else self.governor.level

    def _observe(self, output_ns: int) -> None:
        """After each frame's output: the governor looks, the background looks may run."""
        if self._path is not None:
            self._path.frame_out()
        if self.governor is not None:
            self.governor.observe(self.stats, output_ns)
            self.stats.level = self.governor.level.name

    def _wait(self, stages: list[Stage], seconds: float | None) -> None:
        """Pump the sinks that need the main thread (windows) until the stages end."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while not self._stop.is_set() and any(stage.is_alive() for stage in stages):
            if not all(sink.pump() for sink in self.sinks):
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            stages[-1].join(0.005)

    def _close_sinks(self, keep: bool, report: bool) -> None:
        """Close (``keep``) or abort every sink, even if one fails; re-raise the first failure
        if ``report`` (not when a stage error is already on its way to the caller)."""
        error: Exception | None = None
        for sink in self.sinks:
            try:
                sink.close() if keep else sink.abort()
            except Exception as exc:
                error = error or exc
        if error is not None and report:
            raise error

    def _report(self, capture: Capture, rings: list[Ring[Frame]]) -> RunReport:
        return RunReport(
            captured=capture.count,
            dropped=sum(ring.dropped for ring in rings),
            capture_s=(capture.last_ns - capture.first_ns) / 1e9,
            stats=self.stats,
        )


def _signalling(step: Step, done: threading.Event) -> Step:
    """``step``, setting ``done`` after each frame."""

    def run(frame: Frame | None) -> Frame | None:
        out = step(frame)
        done.set()
        return out

    return run


def _one_intra_op_thread() -> None:
    """The stage threads are the pipeline's parallelism: PyTorch's and OpenCV's own thread pools
    (one thread per core each, by default) on top of them oversubscribe the cores, and a stage
    waits for its pool's threads to be scheduled. Process-wide, and left so: several pipelines
    (``serve``'s sessions) share it. On 2 cores, the demo's p95 and p99 came down from 37 and
    66 ms to 30 and 45 ms (medians of 9 runs each, docs/speed.md)."""
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
