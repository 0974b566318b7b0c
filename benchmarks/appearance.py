"""Appearance-map benchmark: do pose-matched source views beat one frontal photo on turned heads?

Source: Grace Hopper's photo, and clips of her head turning from -40 to +40 degrees of yaw made
from that photo by our own mesh warp (``SyntheticHead``), prepared like ``rtswap identity add``
(views selected by pose, appearance map over them): one clip turns a flattened face (the demo's
generator), one turns the face's full 3D shape. Target: the astronaut turning slowly from -35 to
+35 degrees, one degree per frame. For each source it reports

  d(swap, source) (dlib descriptor distance to the frontal photo; lower = more like her)
      over the target frames with |yaw| >= 25 degrees, and over all frames;
  flicker: mean |change| of the swapped face region between consecutive frames (0..255).

Needs the quality extra (``pip install -e .[quality]``).

    python benchmarks/appearance.py [--json benchmarks/results/appearance-warp-cpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import cast

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from clips import write_clip  # noqa: E402

from rtswap.capture.synthetic_heads import FLAT_DEPTH, Motion, SyntheticHead  # noqa: E402
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer  # noqa: E402
from rtswap.engines.warp.engine import WarpIdentity
from rtswap.media.image import read_image  # noqa: E402
from rtswap.media.samples import grace_hopper_path  # noqa: E402
from rtswap.swapper import Swapper  # noqa: E402
from rtswap.testing.judges import Judge, face_region  # noqa: E402

SOURCE_YAWS = np.arange(-40, 41, 4)
TARGET_YAWS = np.arange(-35, 36, 1)
TURNED_DEG = 25


def source_clip(path: Path, grace: np.ndarray, analyzer: FaceAnalyzer, depth_scale: float) -> None:
    head = SyntheticHead(grace, analyzer.analyze(grace, max_faces=1)[0].landmarks, depth_scale)
    write_clip(path, [head.render(Motion(yaw=float(yaw))) for yaw in SOURCE_YAWS], fps=10)


def measure(
    swapper: Swapper, targets: list[np.ndarray], masks: list[np.ndarray], judge: Judge, reference: np.ndarray
) -> dict[str, float]:
    swaps = [swapper.swap_image(t) for t in targets]
    distances = []
    for image in swaps:
        descriptor = judge.descriptor(image)
        distances.append(float(np.linalg.norm(descriptor - reference)) if descriptor is not None else np.nan)
    d = np.array(distances)
    turned = np.abs(TARGET_YAWS) >= TURNED_DEG
    changes = [
        float(np.abs(b.astype(int) - a.astype(int))[m].mean())
        for a, b, m in zip(swaps[:-1], swaps[1:], masks[1:], strict=True)
    ]
    return {
        "d_turned": round(float(np.nanmean(d[turned])), 4),
        "d_all": round(float(np.nanmean(d)), 4),
        "undetected": int(np.isnan(d).sum()),
        "flicker": round(float(np.mean(changes)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    os.environ["RTSWAP_CACHE"] = tempfile.mkdtemp(prefix="rtswap-bench-cache-")
    judge, grace = Judge(), read_image(grace_hopper_path())
    reference = judge.descriptor(grace)
    assert reference is not None
    work = Path(tempfile.mkdtemp())
    clips = {"flattened": work / "grace-turning-flat.mp4", "full depth": work / "grace-turning-rigid.mp4"}
    with FaceAnalyzer() as analyzer:
        source_clip(clips["flattened"], grace, analyzer, FLAT_DEPTH)
        source_clip(clips["full depth"], grace, analyzer, 1.0)
        head = SyntheticHead.astronaut()
        targets = [head.render(Motion(yaw=float(y))) for y in TARGET_YAWS]
        masks = [face_region(t, analyzer) for t in targets]
    result = {}
    sources = {
        "single frontal photo": grace_hopper_path(),
        **{f"appearance map ({turn} turn)": clip for turn, clip in clips.items()},
    }
    for label, source in sources.items():
        with Swapper(source, SwapConfig(device="cpu"), progress=False) as swapper:
            yaws = cast(WarpIdentity, swapper.face_swap.identities[0]).poses[:, 0]
            result[label] = {
                "views": len(yaws),
                "view_yaw_range": [round(float(yaws.min()), 1), round(float(yaws.max()), 1)],
                **measure(swapper, targets, masks, judge, reference),
            }
        print(f"{label:36} {result[label]}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
