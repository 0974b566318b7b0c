"""``rtswap bench``: the live pipeline measured from its frames' own timestamps."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rtswap.bench.config import WARMUP_S
from rtswap.cli import argtypes
from rtswap.cli.options import add_detect_every, add_latency_budget, add_resolution, add_swap, swap_config
from rtswap.errors import InputError, require_file

MAX_SYNTHETIC_FACES = 16
"""A 4x4 grid: at 720p each head is then 180 px, and the clip takes a minute to render; more
faces would be too small to find, after minutes of rendering."""


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    bench = sub.add_parser(
        "bench",
        parents=parents,
        help="measure the live pipeline: FPS, glass-to-glass latency, per-stage times",
        description="Run the live pipeline on the synthetic clip (or a looped video file) into a "
        "null sink and report FPS in/out, drops, and p50/p95/p99 of glass-to-glass "
        "latency and of each stage, from the frames' own timestamps. The first "
        f"{WARMUP_S:g} s are warm-up and not counted.",
    )
    bench.add_argument(
        "--input", default="synthetic", metavar="IN", help="synthetic (default) or a video file"
    )
    add_resolution(bench, "synthetic input size")
    bench.add_argument(
        "--fps",
        type=argtypes.non_negative_float,
        default=30.0,
        help="input pacing; 0 = as fast as possible (default: 30)",
    )
    bench.add_argument(
        "--seconds", type=argtypes.positive_float, default=20.0, help="measured duration (default: 20)"
    )
    bench.add_argument(
        "--faces",
        type=argtypes.int_between(1, MAX_SYNTHETIC_FACES),
        default=1,
        metavar="N",
        help=f"faces in the synthetic input, up to {MAX_SYNTHETIC_FACES} (default: 1)",
    )
    add_latency_budget(bench)
    bench.add_argument(
        "--compare-sequential",
        action="store_true",
        help="also run the same stages one after another in one thread, unpaced, and report the speedup",
    )
    bench.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the result as JSON"
    )
    add_detect_every(bench)
    add_swap(bench)


def run(args: argparse.Namespace) -> int:
    from rtswap.capture.checks import check_synthetic
    from rtswap.media.image import is_image_path

    if args.input == "synthetic":
        check_synthetic(args.resolution, args.fps or 30.0)  # unpaced, the clip is rendered at 30
    else:
        require_file(Path(args.input), hint="bench inputs: synthetic or a video file")
        if is_image_path(args.input):  # one frame: the run would end before anything was measured
            raise InputError(f"{args.input}: bench loops a video file (or synthetic); this is an image")
    from rtswap.bench.config import BenchConfig
    from rtswap.bench.runner import format_table, run_bench

    config = BenchConfig(
        input=args.input,
        resolution=args.resolution,
        fps=args.fps,
        seconds=args.seconds,
        faces=args.faces,
        swap=swap_config(args),
        detect_every=args.detect_every,
        latency_budget_ms=args.latency_budget,
        compare_sequential=args.compare_sequential,
    )
    result = run_bench(config)
    print(format_table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
