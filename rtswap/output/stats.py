"""Latency and throughput from the frames' own timestamps; nothing is estimated."""

from __future__ import annotations

import bisect
import threading
from array import array
from dataclasses import dataclass

import numpy as np

from rtswap.frame import Frame

_NS_PER_MS = 1e6


def percentiles(values_ms: np.ndarray | list[float]) -> dict[str, float]:
    """{"p50", "p95", "p99"} of ``values_ms`` (NaN when empty), rounded to 0.01 ms."""
    values = np.asarray(values_ms, dtype=np.float64)
    if values.size == 0:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan")}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2)}


@dataclass
class Window:
    frames: int
    p95_ms: float
    """Glass-to-glass p95."""
    delivered: float
    """Frames output / frames captured over the same span (1.0: none dropped)."""


@dataclass
class Summary:
    frames: int
    """Frames output in the window."""
    fps_out: float
    latency_ms: dict[str, float]
    """Glass-to-glass (output time - capture time) p50/p95/p99."""
    stages: dict[str, dict[str, float]]
    """Per stage, time spent processing a frame (not waiting for it) p50/p95/p99."""


KEEP = 36_000
"""Frames whose times a stream keeps: 20 minutes at 30 fps. A session or a live run of hours
keeps its latest, in bounded memory."""


class PipelineStats:
    """Timestamps of the frames that reached the output, the latest ``keep`` of them (summaries
    cover those). Thread-safe: the output stage records, the overlay and the caller read."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self.recorded = 0
        """Frames output in all."""
        self._lock = threading.Lock()
        self._output_ns = array("q")
        self._latency_ns = array("q")
        self._index = array("q")
        self._stage_ns: dict[str, array[int]] = {}
        self.faces = 0
        """Faces in the latest output frame..."""
        self.held = 0
        """...of which held where they were heading, not found in it (:attr:`Face.held`)."""
        self.level = ""
        """The governor's level at the latest output frame ("" without a governor)."""

    def record(self, frame: Frame, output_ns: int) -> None:
        """Add an output frame: glass-to-glass latency is ``output_ns - frame.capture_ns`` (host
        clock). A stage's time is its work on the device where it has CUDA timing events (all
        done by now: the output waited for them), else its host stamps. Every recorded frame has
        passed the same stages, so the per-stage arrays line up."""
        on_device = {
            name: round(a.elapsed_time(b) * _NS_PER_MS) for name, (a, b) in frame.device_time.items()
        }
        with self._lock:
            self._output_ns.append(output_ns)
            self._latency_ns.append(output_ns - frame.capture_ns)
            self._index.append(frame.index)
            for name, (start, end) in frame.stamps.items():
                self._stage_ns.setdefault(name, array("q")).append(on_device.get(name, end - start))
            self.faces = len(frame.faces)
            self.held = sum(face.held for face in frame.faces)
            self.recorded += 1
            if len(self._output_ns) > self.keep:  # the oldest tenth goes, in one step
                drop = max(1, self.keep // 10)
                for times in [self._output_ns, self._latency_ns, self._index, *self._stage_ns.values()]:
                    del times[:drop]

    def indices(self) -> list[int]:
        """The indices of the frames output, in output order (the latest ``keep``)."""
        with self._lock:
            return self._index.tolist()

    def __len__(self) -> int:
        """Frames output in all (the summaries cover the latest ``keep``)."""
        return self.recorded

    def summary(self, since_ns: int | None = None, until_ns: int | None = None) -> Summary:
        """fps_out, latency_ms and per-stage times of the frames output in [since_ns, until_ns).

        Frames are recorded in output order, so the window is a slice found by bisection: a
        summary of the last seconds (the live overlay's, every frame) costs the same in the
        first minute as after hours."""
        with self._lock:
            start = 0 if since_ns is None else bisect.bisect_left(self._output_ns, since_ns)
            end = len(self._output_ns) if until_ns is None else bisect.bisect_left(self._output_ns, until_ns)
            times = np.array(self._output_ns[start:end], dtype=np.int64)
            latency = np.array(self._latency_ns[start:end], dtype=np.int64)
            stages = {k: np.array(v[start:end], dtype=np.int64) for k, v in self._stage_ns.items()}
        span_s = (times[-1] - times[0]) / 1e9 if len(times) > 1 else 0.0
        return Summary(
            frames=len(times),
            fps_out=round((len(times) - 1) / span_s, 2) if span_s > 0 else 0.0,
            latency_ms=percentiles(latency / _NS_PER_MS),
            stages={name: percentiles(values / _NS_PER_MS) for name, values in stages.items()},
        )

    def window(self, since_ns: int) -> Window:
        """Latency p95 and the share of frames delivered, of the frames output since ``since_ns``."""
        with self._lock:
            start = bisect.bisect_left(self._output_ns, since_ns)
            latency = np.array(self._latency_ns[start:], dtype=np.int64)
            index = self._index[start:]
        if len(index) == 0:
            return Window(0, float("nan"), 1.0)
        span = index[-1] - index[0] + 1
        p95 = float(np.percentile(latency / _NS_PER_MS, 95))
        return Window(len(index), p95, len(index) / span)

    def recent(self, window_s: float = 2.0) -> tuple[float, float, float]:
        """(fps_out, latency p50 ms, latency p95 ms) over the last ``window_s`` seconds, for overlays."""
        with self._lock:
            if not self._output_ns:
                return 0.0, float("nan"), float("nan")
            since = self._output_ns[-1] - int(window_s * 1e9)
        summary = self.summary(since_ns=since)
        return summary.fps_out, summary.latency_ms["p50"], summary.latency_ms["p95"]
