"""The neural generators alone, at their real widths: inswapper-128, SimSwap 224 and SimSwap 512.

Random weights have the real cost (the same convolutions, the same shapes), so this needs no
checkpoint. Every backend and precision that runs on the device is timed at batch 1 and 4 in
the same run, after warm-up (compilation, CUDA graph capture), with the device synchronised
around each call. Reports median and p95 ms per call and per face, and each backend's median as
a ratio to eager fp32's for the same model.

    python benchmarks/generator.py [--device cpu|cuda] [--models inswapper_128,simswap_224,simswap_512]
                                   [--repeats 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from rtswap.bench import machine
from rtswap.engines.inswapper import graph
from rtswap.engines.inswapper.model import InswapperGenerator, latent, styles
from rtswap.engines.inswapper.replica import REAL_WIDTHS, random_weights
from rtswap.engines.simswap.engine import export_onnx
from rtswap.engines.simswap.model import SimSwapGenerator
from rtswap.runtime import available_backends
from rtswap.runtime.base import DTYPES, Runner
from rtswap.runtime.eager import EagerRunner
from rtswap.runtime.inductor import InductorRunner
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

BATCHES = (1, 4)


@dataclass
class Model:
    size: int
    module: Callable[[], nn.Module]
    """A fresh PyTorch module of the per-frame path (random weights, real width)."""
    condition: torch.Tensor
    """What the module takes besides the crops."""
    onnx: Callable[[Path], tuple[Path, torch.Tensor]]
    """Writes the model's ONNX; returns it and what it takes besides the crops."""


def inswapper() -> Model:
    weights = random_weights(REAL_WIDTHS)
    source = latent(
        torch.randn(512, generator=torch.Generator().manual_seed(0)), torch.from_numpy(weights.emap)
    )

    def onnx(folder: Path) -> tuple[Path, torch.Tensor]:  # the user's file: latent in, Gemms inside
        path = folder / "inswapper_128.onnx"
        graph.save(graph.build(weights, source_path=True), path)
        return path, source

    return Model(128, lambda: InswapperGenerator(weights), styles(source, weights.style_gemms), onnx)


def simswap(size: int) -> Model:
    torch.manual_seed(0)
    generator = SimSwapGenerator(size).eval()
    with torch.inference_mode():
        style = generator.styles(torch.nn.functional.normalize(torch.randn(512), dim=0))

    def onnx(folder: Path) -> tuple[Path, torch.Tensor]:  # our export of the target path
        return export_onnx(generator, folder / f"simswap_{size}.onnx"), style

    return Model(size, lambda: generator, style.clone(), onnx)


MODELS: dict[str, Callable[[], Model]] = {
    "inswapper_128": inswapper,
    "simswap_224": lambda: simswap(224),
    "simswap_512": lambda: simswap(512),
}


def runners(model: Model, device: torch.device, folder: Path) -> list[tuple[str, str, Runner, torch.Tensor]]:
    """(backend, precision, runner, its condition input) for everything that runs on ``device``."""
    example = (torch.zeros(1, 3, model.size, model.size), model.condition)
    precisions = ("fp32", "fp16", "bf16") if device.type == "cuda" else ("fp32",)
    found: list[tuple[str, str, Runner, torch.Tensor]] = []
    backends = available_backends(device)
    for precision in precisions:
        dtype = DTYPES[precision]  # type: ignore[index]
        found.append(("eager", precision, EagerRunner(model.module(), device, dtype), model.condition))
        if "inductor" in backends:
            runner = InductorRunner(model.module(), example, device, dtype)
            found.append(("inductor", precision, runner, model.condition))
    if "onnxruntime" in backends and device.type == "cpu":
        path, condition = model.onnx(folder)
        found.append(("onnxruntime", "fp32", OnnxRuntimeRunner(path, device), condition))
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


def measure(
    name: str, model: Model, device: torch.device, repeats: int, folder: Path
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for backend, precision, runner, condition in runners(model, device, folder):
        runner.warmup(BATCHES)
        for batch in BATCHES:
            target = torch.rand(batch, 3, model.size, model.size, device=device)
            runner(target, condition.to(device))  # one more untimed call per shape
            times = sorted(time_calls(runner, (target, condition.to(device)), repeats, device))
            median, p95 = statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
            rows.append(
                {
                    "model": name,
                    "backend": backend,
                    "precision": precision,
                    "batch": batch,
                    "median_ms": round(median, 2),
                    "p95_ms": round(p95, 2),
                    "median_ms_per_face": round(median / batch, 2),
                }
            )
            print(
                f"{name:14s} {backend:12s} {precision} batch {batch}: median {median:8.1f} ms, "
                f"p95 {p95:8.1f} ms, {median / batch:8.1f} ms/face",
                flush=True,
            )
    eager = {r["batch"]: r["median_ms"] for r in rows if r["backend"] == "eager" and r["precision"] == "fp32"}
    for row in rows:
        row["vs_eager"] = round(float(row["median_ms"]) / float(eager[row["batch"]]), 3)  # type: ignore[arg-type]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models.split(","):
            rows += measure(name, MODELS[name](), device, args.repeats, Path(folder))
    result = {"machine": machine(), "device": str(device), "repeats": args.repeats, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
