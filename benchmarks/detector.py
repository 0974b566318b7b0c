"""The face detector's scan of a 720p frame: mediapipe's graph, one region at a time, against the
PyTorch port (``rtswap.detect.blazeface``), all regions in one batch, timed in the same run.

The frame is the demo clip's first (one face); the regions are the detector's whole-frame pass
and its six tiles. Reports median and p95 ms per scan and the port's median as a ratio to
mediapipe's. On CUDA the port is timed with the device synchronised after each scan.

    python benchmarks/detector.py [--device cpu|cuda] [--repeats 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from rtswap.bench.runner import machine
from rtswap.capture.synthetic_heads import SyntheticClip
from rtswap.detect.blazeface import BlazeFace
from rtswap.detect.mediapipe_graphs import FaceDetector


def _timed(scan: Callable[[], object], repeats: int, synchronise: Callable[[], None]) -> list[float]:
    for _ in range(3):
        scan()
    synchronise()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        scan()
        synchronise()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    frame = SyntheticClip().frame(0)
    reference = FaceDetector()
    regions = reference.regions(frame)
    port = BlazeFace().to(device).eval()
    on_device = torch.from_numpy(frame).to(device)
    tiles = [on_device[y0:y1, x0:x1] for x0, y0, x1, y1 in regions]
    synchronise = torch.cuda.synchronize if device.type == "cuda" else lambda: None
    with torch.inference_mode():
        results = {
            "mediapipe (one region at a time)": _timed(
                lambda: reference.detect(frame), args.repeats, lambda: None
            ),
            f"torch on {device.type} (one batch)": _timed(lambda: port(tiles), args.repeats, synchronise),
        }
    reference.close()
    baseline = statistics.median(next(iter(results.values())))
    where = machine()
    print(f"face detector, {len(regions)} regions of a {frame.shape[1]}x{frame.shape[0]} frame")
    print(f"machine: {where['gpu'] or where['cpu']}, {where['cores']} cores")
    print(f"{'':36} {'median ms':>10} {'p95 ms':>8} {'ratio':>6}")
    rows = []
    for name, times in results.items():
        median, p95 = statistics.median(times), float(np.percentile(times, 95))
        rows.append({"variant": name, "median_ms": median, "p95_ms": p95, "ratio": median / baseline})
        print(f"{name:36} {median:10.1f} {p95:8.1f} {median / baseline:6.2f}")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine(), "regions": len(regions), "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
