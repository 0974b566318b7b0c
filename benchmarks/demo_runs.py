"""``rtswap demo`` as a newcomer runs it, several times: the numbers the README's demo table states.

Each run is a fresh process (``python -m rtswap demo``), as after the install, with the clip
already rendered into the cache (a first, uncounted run renders it if it is not). Reports per run
what the demo printed (fps out,
glass-to-glass p50/p95/p99, frames dropped, the governor's steps) and what the recording shows:
the frames that repeat the frame before, in the first second and in all (a dropped frame's slot
repeats the frame before, so a repeat is a stutter a viewer sees).

With ``--against REV`` the runs alternate with the same demo at another revision, so both see the
same machine and load.

    python benchmarks/demo_runs.py [--runs 4] [--against REV] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import av
import numpy as np
from revision import ROOT, head, revision_tree

from rtswap.bench.runner import machine

_LINE = re.compile(
    r"([\d.]+) fps out, glass-to-glass latency p50 (\d+) ms, p95 (\d+) ms, p99 (\d+) ms, (\d+) frames dropped"
)
_REPEAT_LEVELS = 8
"""A decoded frame with no pixel further than this from the frame before is that frame repeated
(the encoder's drift between two copies of one image stays within a few levels; the camera's
grain alone moves thousands of pixels further)."""


def repeats(video: Path, fps: int = 30) -> tuple[int, int]:
    """(repeated frames in the first second, in all) of ``video``."""
    repeated, before = [], None
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            image = frame.to_ndarray(format="gray").astype(np.float32)
            repeated.append(before is not None and float(np.abs(image - before).max()) <= _REPEAT_LEVELS)
            before = image
    return sum(repeated[:fps]), sum(repeated)


def one_run(tree: Path, out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-m", "rtswap", "demo", "--out", str(out)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    found = _LINE.search(done.stdout)
    if done.returncode or not found:
        sys.exit(f"rtswap demo failed in {tree}: {done.stderr[-2000:] or done.stdout}")
    fps, p50, p95, p99, dropped = found.groups()
    first_second, in_all = repeats(out / "demo.mp4")
    return {
        "fps_out": float(fps),
        "latency_ms": {"p50": int(p50), "p95": int(p95), "p99": int(p99)},
        "dropped": int(dropped),
        "repeated_first_second": first_second,
        "repeated": in_all,
        "governor": [
            line.split("governor: ", 1)[1] for line in done.stderr.splitlines() if "governor: " in line
        ],
    }


def row(run: dict[str, Any]) -> str:
    latency = run["latency_ms"]
    steps = "; ".join(run["governor"]) or "full quality"
    return (
        f"{run['fps_out']:.1f} fps, {run['dropped']} dropped ({run['repeated_first_second']} repeats in the "
        f"first second), {latency['p50']} / {latency['p95']} / {latency['p99']} ms, {steps}"
    )


def median_of(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {
        "fps_out": statistics.median(r["fps_out"] for r in runs),
        "repeated_first_second": statistics.median(r["repeated_first_second"] for r in runs),
        "p95_ms": statistics.median(r["latency_ms"]["p95"] for r in runs),
        "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--against", metavar="REV", help="alternate with the demo at this git revision")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        trees = {head() + " (working tree)": ROOT}
        if args.against:
            trees[args.against] = stack.enter_context(revision_tree(args.against))
        sides: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
        one_run(ROOT, Path(tmp) / "render")  # renders the clip into the cache if it is not there
        for i in range(args.runs):
            for name, tree in trees.items():
                sides[name].append(one_run(tree, Path(tmp) / f"{i}"))
                print(f"{name}: {row(sides[name][-1])}", flush=True)
    medians = {name: median_of(runs) for name, runs in sides.items()}
    print(json.dumps(medians, indent=1))
    result = {
        "machine": machine(),
        "command": "rtswap demo (720p30, one face, warp, the recording encoded on the same cores)",
        "sides": {name: {"runs": runs, "median": medians[name]} for name, runs in sides.items()},
    }
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
