"""The neural generators alone, at their real widths: inswapper-128, SimSwap 224 and SimSwap 512,
MegaFS's parts (its encoder, its face transfer module, StyleGAN2's synthesis stopped at 256, 512
and 1024 px, and its whole per-frame path at 512), and the GFPGAN v1.4 and GPEN-BFR-512
restorers (``restorer_replicas.py``).

Random weights have the real cost (the same convolutions, the same shapes), so this needs no
checkpoint. Every backend and precision that runs on the device is timed at batch 1 and 4 in
the same run, after warm-up (compilation, CUDA graph capture), with the device synchronised
around each call. Reports median and p95 ms per call and per face, and each backend's median as
a ratio to eager fp32's for the same model.

    python benchmarks/generator.py [--device cpu|cuda] [--models inswapper_128,simswap_224,...]
                                   [--backends eager,inductor,...] [--precisions fp32,fp16,bf16]
                                   [--repeats 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
from restorer_replicas import SIZE, GFPGANReplica, GPENReplica
from torch import nn

from rtswap.bench.runner import machine
from rtswap.engines.inswapper import graph
from rtswap.engines.inswapper.model import InswapperGenerator, latent, styles
from rtswap.engines.inswapper.replica import REAL_WIDTHS, random_weights
from rtswap.engines.megafs.engine import ENCODER_PX, MegaFSSwap
from rtswap.engines.megafs.replica import REAL, random_networks
from rtswap.engines.simswap.engine import export_onnx
from rtswap.engines.simswap.model import SimSwapGenerator
from rtswap.runtime import PRECISIONS, Precision, available_backends
from rtswap.runtime.base import DTYPES, Runner
from rtswap.runtime.eager import EagerRunner
from rtswap.runtime.inductor import InductorRunner
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

BATCHES = (1, 4)


@dataclass
class Model:
    shape: tuple[int, ...]
    """One item of the batch it takes (a crop: (3, S, S))."""
    module: Callable[[], nn.Module]
    """The per-frame path as a PyTorch module (random weights, real width); it may be one module
    shared between calls: :func:`runners` gives each runner a copy of its own."""
    shared: tuple[torch.Tensor, ...]
    """What the module takes besides the batch (the same for every item; a restorer: nothing)."""
    onnx: Callable[[Path], tuple[Path, tuple[torch.Tensor, ...]]] | None = None
    """Writes the model's ONNX; returns it and what it takes besides the batch."""


def inswapper() -> Model:
    weights = random_weights(REAL_WIDTHS)
    source = latent(
        torch.randn(512, generator=torch.Generator().manual_seed(0)), torch.from_numpy(weights.emap)
    )

    def onnx(
        folder: Path,
    ) -> tuple[Path, tuple[torch.Tensor, ...]]:  # the user's file: latent in, Gemms inside
        path = folder / "inswapper_128.onnx"
        graph.save(graph.build(weights, source_path=True), path)
        return path, (source,)

    return Model(
        (3, 128, 128), lambda: InswapperGenerator(weights), (styles(source, weights.style_gemms),), onnx
    )


def simswap(size: int) -> Model:
    torch.manual_seed(0)
    generator = SimSwapGenerator(size).eval()
    with torch.inference_mode():
        style = generator.styles(torch.nn.functional.normalize(torch.randn(512), dim=0))

    def onnx(folder: Path) -> tuple[Path, tuple[torch.Tensor, ...]]:  # our export of the target path
        return export_onnx(generator, folder / f"simswap_{size}.onnx"), (style,)

    return Model((3, size, size), lambda: generator, (style.clone(),), onnx)


class _Encoder(nn.Module):
    """MegaFS's encoder on a 256 px crop: latents and content tensor, flattened into one output."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        latents, content = self.encoder(crops * 2 - 1)
        return torch.cat([latents.flatten(1), content.flatten(1)], dim=1)


class _Transfer(nn.Module):
    """The face transfer module: the targets' latents (the batch) and the source's."""

    def __init__(self, ftm: nn.Module) -> None:
        super().__init__()
        self.ftm = ftm

    def forward(self, target: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        return self.ftm(source.expand(len(target), -1, -1), target)


class _Synthesis(nn.Module):
    """StyleGAN2's synthesis from the batch's content tensors, with one set of latents."""

    def __init__(self, synthesis: nn.Module) -> None:
        super().__init__()
        self.synthesis = synthesis

    def forward(self, content: torch.Tensor, latents: torch.Tensor) -> torch.Tensor:
        return self.synthesis(content, latents.expand(len(content), -1, -1))


def megafs(part: str, resolution: int = 1024) -> Model:
    encoder, ftm, synthesis = random_networks(REAL)
    synthesis.resolution = resolution
    latents = torch.rand(sum(REAL.split), REAL.latent, generator=torch.Generator().manual_seed(0)) * 2 - 1
    if part == "encoder":
        return Model((3, ENCODER_PX, ENCODER_PX), lambda: _Encoder(encoder), ())
    if part == "ftm":
        return Model(tuple(latents.shape), lambda: _Transfer(ftm), (latents,))
    if part == "synthesis":
        return Model((REAL.latent, 4, 4), lambda: _Synthesis(synthesis), (latents,))
    return Model((3, resolution, resolution), lambda: MegaFSSwap(encoder, ftm, synthesis), (latents,))


class _Restorer(nn.Module):
    """A restorer as the swap stage calls it: faces in [0, 1] in, [-1, 1] into the network."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, faces: torch.Tensor) -> torch.Tensor:
        return self.network(faces * 2 - 1)


def restorer(name: str, network: Callable[[], nn.Module]) -> Model:
    torch.manual_seed(0)
    module = network().eval()

    def onnx(folder: Path) -> tuple[Path, tuple[torch.Tensor, ...]]:  # as the user's file: batch 1
        path = folder / f"{name}.onnx"
        example = torch.zeros(1, 3, SIZE, SIZE)
        torch.onnx.export(
            module, (example,), path, input_names=["input"], output_names=["output"], dynamo=False
        )
        return path, ()

    return Model((3, SIZE, SIZE), lambda: _Restorer(module), (), onnx)


MODELS: dict[str, Callable[[], Model]] = {
    "inswapper_128": inswapper,
    "simswap_224": lambda: simswap(224),
    "simswap_512": lambda: simswap(512),
    "megafs_encoder": lambda: megafs("encoder"),
    "megafs_ftm": lambda: megafs("ftm"),
    **{f"megafs_synthesis_{r}": partial(megafs, "synthesis", r) for r in (256, 512, 1024)},
    "megafs_512": lambda: megafs("whole", 512),
    "gfpgan_1.4": partial(restorer, "gfpgan_1.4", GFPGANReplica),
    "gpen_bfr_512": partial(restorer, "gpen_bfr_512", GPENReplica),
}


def runners(
    model: Model, device: torch.device, folder: Path, wanted: list[str], precisions: tuple[Precision, ...]
) -> list[tuple[str, str, Runner, tuple[torch.Tensor, ...]]]:
    """(backend, precision, runner, what it takes besides the batch) for everything of ``wanted``
    that runs on ``device``, in each of ``precisions`` (and eager fp32 always: the ratios' base)."""
    example = (torch.zeros(1, *model.shape), *model.shared)
    if device.type != "cuda":
        precisions = ("fp32",)
    found: list[tuple[str, str, Runner, tuple[torch.Tensor, ...]]] = []
    backends = [b for b in available_backends(device) if b in wanted]
    for precision in dict.fromkeys(("fp32", *precisions)):  # each runner moves and casts its module
        dtype = DTYPES[precision]
        eager = EagerRunner(copy.deepcopy(model.module()), device, dtype, example)
        found.append(("eager", precision, eager, model.shared))
        if "inductor" in backends and precision in precisions:
            compiled = InductorRunner(copy.deepcopy(model.module()), example, device, dtype)
            found.append(("inductor", precision, compiled, model.shared))
    if "onnxruntime" in backends and device.type == "cpu" and model.onnx is not None:
        path, shared = model.onnx(folder)
        onnx_example = (example[0], *shared)
        found.append(("onnxruntime", "fp32", OnnxRuntimeRunner(path, device, example=onnx_example), shared))
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
    name: str,
    model: Model,
    device: torch.device,
    repeats: int,
    folder: Path,
    backends: list[str],
    precisions: tuple[Precision, ...],
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for backend, precision, runner, shared in runners(model, device, folder, backends, precisions):
        runner.warmup(BATCHES)
        for batch in BATCHES:
            target = torch.rand(batch, *model.shape, device=device)
            inputs = (target, *(x.to(device) for x in shared))
            runner(*inputs)  # one more untimed call per shape
            times = sorted(time_calls(runner, inputs, repeats, device))
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
        row["vs_eager"] = round(float(row["median_ms"]) / float(eager[row["batch"]]), 3)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated: " + ", ".join(MODELS))
    parser.add_argument(
        "--backends", default="eager,inductor,onnxruntime", help="comma-separated, those that run here"
    )
    parser.add_argument(
        "--precisions", default=",".join(PRECISIONS), help="comma-separated, on CUDA (CPU: fp32 only)"
    )
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    precisions = tuple(p for p in PRECISIONS if p in args.precisions.split(","))
    device = torch.device(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models.split(","):
            model = MODELS[name]()
            rows += measure(
                name, model, device, args.repeats, Path(folder), args.backends.split(","), precisions
            )
    result = {"machine": machine(), "device": str(device), "repeats": args.repeats, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
