"""Sequential per-frame cost of this tree against another git revision, measured in one run.

REV is checked out into a temporary worktree. Then the two alternate, REV first, for ``--rounds``
rounds: each a fresh process that runs the pipeline's stages one after another in one thread
(``Pipeline.run_sequential``, as ``rtswap bench --compare-sequential`` does), unpaced, on the
synthetic 720p clip with one face, the warp engine, one intra-op thread. Alternating in one run
means both sides see the same machine and the same load. Reports, per side, the median over
rounds of the per-frame time (1 / fps out) and of each stage's p50, and the ratio.

    python benchmarks/compare_revisions.py REV [--rounds 3] [--seconds 15] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from revision import ROOT, head, revision_tree

from rtswap.bench.runner import machine

_ONE_RUN = """
import json, sys, cv2, torch
from rtswap.media.samples import grace_hopper_path
from rtswap.pipeline.pipeline import Pipeline, PipelineConfig
from rtswap.swapper import Swapper
try:
    from rtswap.bench import runner as bench
    from rtswap.bench.config import BenchConfig
    from rtswap.config import SwapConfig
    from rtswap.output.base import NullSink

    def warp_on_cpu():
        return Swapper(grace_hopper_path(), SwapConfig(device="cpu"))
except ImportError:  # a revision before the one-home-per-step layout (7babfb6 and earlier)
    from rtswap import bench
    from rtswap.bench_config import BenchConfig
    from rtswap.sinks.base import NullSink

    def warp_on_cpu():
        return Swapper(grace_hopper_path(), "warp", "cpu")

torch.set_num_threads(1)
cv2.setNumThreads(1)
seconds = float(sys.argv[1])
config = BenchConfig(fps=0.0, seconds=seconds)
with warp_on_cpu() as swapper:
    pipeline = Pipeline(swapper.face_swap, bench._source(config), [NullSink()], PipelineConfig(live=False))
    pipeline.run_sequential(seconds=bench.WARMUP_S + seconds)
    print(json.dumps(bench._measured(pipeline.stats, 0)))
"""


def one_run(tree: Path, seconds: float) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", _ONE_RUN, str(seconds)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return measured


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    stages = runs[0]["stages"]
    assert isinstance(stages, dict)
    return {
        "ms_per_frame": round(statistics.median(1000 / float(r["fps_out"]) for r in runs), 2),
        "fps_out": [r["fps_out"] for r in runs],
        "stage_p50_ms": {
            name: round(statistics.median(r["stages"][name]["p50"] for r in runs), 2) for name in stages
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("rev", help="the git revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with revision_tree(args.rev) as old_tree:
        old, new = [], []
        for round_ in range(args.rounds):
            old.append(one_run(old_tree, args.seconds))
            new.append(one_run(ROOT, args.seconds))
            fps = old[-1]["fps_out"], new[-1]["fps_out"]
            print(f"round {round_ + 1}: {args.rev} {fps[0]} fps, this tree {fps[1]} fps")
    result = {
        "machine": machine(),
        "input": "synthetic 1280x720, 1 face, warp engine, sequential, unpaced, one intra-op thread",
        "seconds_per_run": args.seconds,
        "old": {"rev": args.rev, **summary(old)},
        "new": {"rev": head() + " (working tree)", **summary(new)},
    }
    result["speedup"] = round(result["old"]["ms_per_frame"] / result["new"]["ms_per_frame"], 2)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
