"""The neural generator alone: inswapper-128's per-frame path at its real width.

Random weights have the real cost (the same convolutions, the same shapes), so this needs no
checkpoint. Every backend and precision that runs on the device is timed at batch 1 and 4 in
the same run, after warm-up (compilation, CUDA graph capture), with the device synchronised
around each call. Reports median and p95 ms per call and per face, and each backend's median as
a ratio to eager's.

    python benchmarks/generator.py [--device cpu|cuda] [--repeats 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from rtswap.bench import machine
from rtswap.engines.inswapper import graph
from rtswap.engines.inswapper.model import InswapperGenerator, latent, styles
from rtswap.engines.inswapper.replica import REAL_WIDTHS, random_weights
from rtswap.runtime import available_backends
from rtswap.runtime.base import DTYPES, Runner
from rtswap.runtime.eager import EagerRunner
from rtswap.runtime.inductor import InductorRunner
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

BATCHES = (1, 4)


def runners(device: torch.device, folder: Path) -> list[tuple[str, str, Runner, bool]]:
    """(backend, precision, runner, takes the latent) for everything that runs on ``device``."""
    weights = random_weights(REAL_WIDTHS)
    example = (torch.zeros(1, 3, 128, 128), torch.zeros(12, 2 * REAL_WIDTHS[-1]))
    precisions = ("fp32", "fp16", "bf16") if device.type == "cuda" else ("fp32",)
    found: list[tuple[str, str, Runner, bool]] = []
    for precision in precisions:
        dtype = DTYPES[precision]  # type: ignore[index]
        found.append(("eager", precision, EagerRunner(InswapperGenerator(weights), device, dtype), False))
    backends = available_backends(device)
    if "inductor" in backends:
        for precision in precisions:
            dtype = DTYPES[precision]  # type: ignore[index]
            runner = InductorRunner(InswapperGenerator(weights), example, device, dtype)
            found.append(("inductor", precision, runner, False))
    if "onnxruntime" in backends and device.type == "cpu":
        path = folder / "inswapper_128.onnx"
        graph.save(graph.build(weights, source_path=True), path)
        found.append(("onnxruntime", "fp32", OnnxRuntimeRunner(path, device), True))
    return found


def time_calls(
    runner: Runner, inputs: tuple[torch.Tensor, ...], repeats: int, device: torch.device
) -> list[float]:
    """Milliseconds per call, the device synchronised around each."""
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        runner(*inputs)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append((time.perf_counter() - start) * 1000.0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    weights = random_weights(REAL_WIDTHS)
    source = latent(torch.randn(512), torch.from_numpy(weights.emap))
    style = styles(source, weights.style_gemms)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for backend, precision, runner, takes_latent in runners(device, Path(folder)):
            condition = (source if takes_latent else style).to(device)
            runner.warmup(BATCHES)
            for batch in BATCHES:
                target = torch.rand(batch, 3, 128, 128, device=device)
                runner(target, condition)  # one more untimed call per shape
                times = sorted(time_calls(runner, (target, condition), args.repeats, device))
                median, p95 = (
                    statistics.median(times),
                    times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                )
                rows.append(
                    {
                        "backend": backend,
                        "precision": precision,
                        "batch": batch,
                        "median_ms": round(median, 2),
                        "p95_ms": round(p95, 2),
                        "median_ms_per_face": round(median / batch, 2),
                    }
                )
                print(
                    f"{backend:12s} {precision} batch {batch}: median {median:8.1f} ms, p95 {p95:8.1f} ms, "
                    f"{median / batch:8.1f} ms/face",
                    flush=True,
                )
    eager = {(r["precision"], r["batch"]): r["median_ms"] for r in rows if r["backend"] == "eager"}
    for row in rows:
        row["vs_eager"] = round(row["median_ms"] / eager[("fp32", row["batch"])], 3)  # type: ignore[operator]
    result = {
        "machine": machine(),
        "device": str(device),
        "widths": REAL_WIDTHS,
        "repeats": args.repeats,
        "rows": rows,
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
