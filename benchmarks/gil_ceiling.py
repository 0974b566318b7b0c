"""How far threads can take the CPU pipeline at all: two whole pipelines side by side.

``rtswap bench --fps 0 --compare-sequential`` sets the live pipeline's six stage threads against
the same stages one after another in one thread. This asks what any split of that work into
threads of one process could reach on this machine: the same sequential pipeline (warp engine,
the synthetic 720p clip, one face, unpaced, every look inline) run twice at once, with nothing
shared between the two runs,

- in two threads of one process (they share the interpreter's lock), and
- in two processes (they share nothing but the cores),

against one run alone. Each round runs the three side by side in turn and counts the frames all
runs output in the same window after a warm-up; the figures are combined frames per second and
their ratios to one run alone.

    python benchmarks/gil_ceiling.py [--rounds 3] [--seconds 10] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable
from multiprocessing.synchronize import Barrier

from rtswap.bench.runner import machine
from rtswap.capture.open import open_source
from rtswap.config import SwapConfig
from rtswap.media.samples import grace_hopper_path
from rtswap.output.base import NullSink
from rtswap.pipeline import Pipeline, PipelineConfig
from rtswap.swapper import Swapper

WARMUP_S = 2.0


def _frames(seconds: float, ready: Callable[[], object]) -> int:
    """One sequential pipeline: built, then ``ready()`` (all runs start together), then the frames
    it outputs in ``seconds`` after the warm-up."""
    source = open_source("synthetic", live=False, loop=True, resolution=(1280, 720), fps=30.0, faces=1)
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu")) as swapper:
        pipeline = Pipeline(swapper.face_swap, source, [NullSink()], PipelineConfig(live=False))
        ready()
        since = time.monotonic_ns() + int(WARMUP_S * 1e9)
        pipeline.run_sequential(seconds=WARMUP_S + seconds + 0.5)
        return pipeline.stats.summary(since_ns=since, until_ns=since + int(seconds * 1e9)).frames


def _in_threads(runs: int, seconds: float) -> float:
    barrier, frames = threading.Barrier(runs), [0] * runs

    def run(i: int) -> None:
        frames[i] = _frames(seconds, barrier.wait)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(frames) / seconds


def _process_run(barrier: Barrier, seconds: float, out: multiprocessing.Queue) -> None:
    out.put(_frames(seconds, barrier.wait))


def _in_processes(runs: int, seconds: float) -> float:
    context = multiprocessing.get_context("spawn")
    barrier, out = context.Barrier(runs), context.Queue()
    processes = [context.Process(target=_process_run, args=(barrier, seconds, out)) for _ in range(runs)]
    for process in processes:
        process.start()
    frames = [out.get() for _ in processes]
    for process in processes:
        process.join()
    return sum(frames) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    rounds = []
    for _ in range(args.rounds):
        one = _in_processes(1, args.seconds)
        row = {
            "one_fps": round(one, 1),
            "two_threads_fps": round(_in_threads(2, args.seconds), 1),
            "two_processes_fps": round(_in_processes(2, args.seconds), 1),
        }
        row["threads_ratio"] = round(row["two_threads_fps"] / one, 2)
        row["processes_ratio"] = round(row["two_processes_fps"] / one, 2)
        rounds.append(row)
        print(row, flush=True)
    for key in ("threads_ratio", "processes_ratio"):
        print(f"{key}: median {statistics.median(r[key] for r in rounds):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": machine(), "seconds": args.seconds, "rounds": rounds}, f, indent=1)


if __name__ == "__main__":
    main()
