"""``rtswap bench``: the live pipeline on a paced or unpaced input, measured from frame timestamps."""

from __future__ import annotations

import os
import platform
import sys
import threading
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import cast

import numpy as np
import torch

from rtswap.bench.config import WARMUP_S, BenchConfig
from rtswap.capture.base import Source
from rtswap.capture.open import open_source
from rtswap.media.samples import grace_hopper_path
from rtswap.output.base import NullSink
from rtswap.output.stats import PipelineStats
from rtswap.pipeline import Pipeline, PipelineConfig, RunReport
from rtswap.swapper import Swapper

LOOKS = (
    ("background_looks", "composite's"),
    ("background_hand_looks", "hands'"),
    ("background_scans", "detector's"),
)
"""The JSON keys of live runs' background looks (``<key>_ms``: cost, ``<key>_age_ms``: age when
ready), and their names in the printed table: the composite's (occluders, glasses' rims, the
camera) and the detect step's (hands, and the scans for new faces while faces are tracked)."""


def machine() -> dict[str, object]:
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux; peak resident memory elsewhere)."""
    statm = Path("/proc/self/statm")
    if statm.exists():
        return int(statm.read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


class _MemorySampler:
    """Samples resident memory once a second on a thread: [(monotonic ns, MiB)]; on CUDA also
    how busy the GPU was (NVML's utilisation, percent; none where NVML is missing)."""

    def __init__(self, device: torch.device) -> None:
        self.samples: list[tuple[int, float]] = []
        self.gpu_busy: list[float] = []
        self._gpu = device if device.type == "cuda" else None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rtswap-memory", daemon=True)

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic_ns(), rss_mb()))
            if self._gpu is not None:
                try:
                    self.gpu_busy.append(float(torch.cuda.utilization(self._gpu)))
                except (ModuleNotFoundError, RuntimeError):  # no NVML: memory only
                    self._gpu = None
            self._stop.wait(1.0)


def _source(config: BenchConfig) -> Source:
    return open_source(
        config.input,
        live=config.fps > 0,
        loop=True,
        resolution=config.resolution,
        fps=config.fps or 30.0,
        faces=config.faces,
    )


def _described(config: BenchConfig) -> dict[str, object]:
    """``config`` as JSON values."""
    swap = {**asdict(config.swap), "models_dir": config.swap.models_dir and str(config.swap.models_dir)}
    return {**asdict(config), "resolution": "x".join(map(str, config.resolution)), "swap": swap}


def _measured(stats: PipelineStats, start_ns: int) -> dict[str, object]:
    return asdict(stats.summary(since_ns=start_ns + int(WARMUP_S * 1e9)))


def run_bench(config: BenchConfig) -> dict[str, object]:
    """Runs the benchmark and returns the result (the JSON that ``--json`` writes)."""
    with Swapper(grace_hopper_path(), config.swap) as swapper:
        pipeline_config = PipelineConfig(
            live=config.fps > 0, detect_every=config.detect_every, latency_budget_ms=config.latency_budget_ms
        )
        pipeline = Pipeline(swapper.face_swap, _source(config), [NullSink()], pipeline_config)
        on_gpu = swapper.device.type == "cuda"
        if on_gpu:
            torch.cuda.reset_peak_memory_stats(swapper.device)
        start = time.monotonic_ns()
        with _MemorySampler(swapper.device) as memory:
            run = pipeline.run(seconds=WARMUP_S + config.seconds)
        result: dict[str, object] = {
            "machine": machine(),
            "config": _described(config),
            "device": str(swapper.device),
            "landmarks": swapper.landmarks,
            "fps_in": run.fps_in,
            "dropped": run.dropped,
            **_measured(pipeline.stats, start),
        }
        if pipeline.governor is not None:
            governor = pipeline.governor
            result["governor"] = {
                "budget_ms": round(governor.budget_ms, 1),
                "changes": [
                    {"at_s": round((c.at_ns - start) / 1e9, 2), "level": c.level, "reason": c.reason}
                    for c in governor.changes
                ],
                "seconds_at_level": governor.time_at_levels(start, time.monotonic_ns()),
            }
        if on_gpu:
            peak_mib = torch.cuda.max_memory_allocated(swapper.device) / 2**20
            busy = _percentiles(memory.gpu_busy) if memory.gpu_busy else None
            result["gpu"] = {"memory_peak_mib": round(peak_mib, 1), "busy_percent": busy}
        result |= _costs_beside_the_stages(swapper, pipeline)
        if config.seconds >= 120:
            result["minutes"] = _minutes(pipeline.stats, memory.samples, start, config.seconds)
        if config.compare_sequential:
            sequential = _sequential(swapper, config)
            result["sequential"] = sequential
            speedup = cast(float, result["fps_out"]) / cast(float, sequential["fps_out"])
            result["speedup"] = round(speedup, 2)
    return result


def _costs_beside_the_stages(swapper: Swapper, pipeline: Pipeline) -> dict[str, object]:
    """The looks that ran off the frame path (live), and the restorer's cost per face."""
    result: dict[str, object] = {}
    look_times = (swapper.face_swap.compositor.look_times, pipeline.hand_look_times, pipeline.scan_times)
    for (name, _), times in zip(LOOKS, look_times, strict=True):
        if times is not None and times.costs_ms:
            result[f"{name}_ms"] = _percentiles(list(times.costs_ms)) | {"looks": len(times.costs_ms)}
            result[f"{name}_age_ms"] = _percentiles(list(times.ages_ms))
    restorer = swapper.face_swap.restorer
    if restorer is not None and restorer.costs_ms:
        result["enhancer"] = restorer.name
        result["enhancer_ms_per_face"] = _percentiles(list(restorer.costs_ms)) | {
            "runs": len(restorer.costs_ms)
        }
    return result


def _sequential(swapper: Swapper, config: BenchConfig) -> dict[str, object]:
    """The same stages one after another in this thread, unpaced, on the same input."""
    unpaced = replace(config, fps=0.0)
    pipeline = Pipeline(swapper.face_swap, _source(unpaced), [NullSink()], PipelineConfig(live=False))
    start = time.monotonic_ns()
    run: RunReport = pipeline.run_sequential(seconds=WARMUP_S + config.seconds)
    return {"fps_in": run.fps_in, **_measured(pipeline.stats, start)}


def _minutes(
    stats: PipelineStats, memory: list[tuple[int, float]], start_ns: int, seconds: float
) -> list[dict[str, object]]:
    """Per-minute summaries of the measured part of a long run, with resident memory at each
    minute's end (whole minutes only)."""
    rows: list[dict[str, object]] = []
    for minute in range(int(seconds // 60)):
        since = start_ns + int((WARMUP_S + 60 * minute) * 1e9)
        until = since + 60_000_000_000
        summary = stats.summary(since_ns=since, until_ns=until)
        rss = [mb for t, mb in memory if t < until]
        rows.append({"minute": minute + 1, **asdict(summary), "rss_mb": round(rss[-1], 1) if rss else None})
    return rows


def format_table(result: dict[str, object]) -> str:
    config, m = result["config"], result["machine"]
    assert isinstance(config, dict) and isinstance(m, dict)
    pacing = f"paced at {config['fps']:g} fps" if config["fps"] else "unpaced"
    synthetic = f"synthetic {config['resolution']}, {config['faces']} face(s)"  # a file has its own
    clip = synthetic if config["input"] == "synthetic" else config["input"]
    lines = [
        f"{config['swap']['engine']} on {result['device']} (landmarks: {result['landmarks']}), "
        f"{clip}, {pacing}, {config['seconds']:g} s measured",
        f"machine: {m['cpu']}, {m['cores']} cores" + (f", {m['gpu']}" if m["gpu"] else ""),
        "",
        f"{'ms':<16}{'p50':>8}{'p95':>8}{'p99':>8}",
        _row("glass-to-glass", result["latency_ms"]),
    ]
    stages = result["stages"]
    assert isinstance(stages, dict)
    lines += [_row(f"  {name}", values) for name, values in stages.items()]
    lines += ["", f"fps in {result['fps_in']}, fps out {result['fps_out']}, dropped {result['dropped']}"]
    if "gpu" in result:
        gpu = result["gpu"]
        assert isinstance(gpu, dict)
        busy = gpu["busy_percent"]
        lines.append(
            f"GPU memory peak {gpu['memory_peak_mib']:g} MiB"
            + (f", busy {busy['p50']:g}% (p50 of 1 s samples), {busy['p99']:g}% (p99)" if busy else "")
        )
    if "governor" in result:
        governor = result["governor"]
        assert isinstance(governor, dict)
        lines.append(f"governor: budget {governor['budget_ms']:g} ms (p95)")
        lines += [f"  {c['at_s']:6.1f} s  -> {c['level']} ({c['reason']})" for c in governor["changes"]]
        lines.append(
            "  time at each level: "
            + ", ".join(f"{name} {seconds:g} s" for name, seconds in governor["seconds_at_level"].items())
        )
    if "enhancer" in result:
        lines.append(_row(f"{result['enhancer']} per face", result["enhancer_ms_per_face"], 32))
    looks = [(name, label) for name, label in LOOKS if f"{name}_ms" in result]
    if looks:
        lines.append(
            f"{'looks off the frame path, ms':<32}" + "".join(f"{k:>8}" for k in ("p50", "p95", "p99"))
        )
    for name, label in looks:
        lines.append(_row(f"  {label}: cost", result[f"{name}_ms"], 32))
        lines.append(_row(f"  {label}: age when ready", result[f"{name}_age_ms"], 32))
    if "sequential" in result:
        sequential = result["sequential"]
        assert isinstance(sequential, dict)
        lines.append(
            f"sequential (one thread, unpaced) fps out {sequential['fps_out']}: speedup {result['speedup']}x"
        )
    return "\n".join(lines)


def _percentiles(values: list[float]) -> dict[str, float]:
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), 2), "p95": round(float(p95), 2), "p99": round(float(p99), 2)}


def _row(name: str, values: object, width: int = 16) -> str:
    assert isinstance(values, dict)
    return f"{name:<{width}}" + "".join(f"{values[k]:>8.1f}" for k in ("p50", "p95", "p99"))
