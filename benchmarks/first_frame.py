"""Time to first frame, first start vs second start, with a 30 s source video.

The first start prepares the source (landmarks, poses, view selection over the sampled frames)
and stores it in the identity cache, keyed by the file's content hash; the second start finds it
there. Each start is a fresh ``rtswap live`` process (a video file as input, null output), timed
from the import of the rtswap package (before torch) to the first output frame, as the
command itself reports. Each pair runs ``--repeats`` times with an empty cache; medians are
reported, with the time a fresh process takes just to import the libraries a start needs (the
floor under any second start).

    python benchmarks/first_frame.py [--repeats 3] [--json benchmarks/results/first-frame-cpu.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from clips import write_clip

from rtswap.bench.runner import machine
from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead, demo_motion
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.media.image import read_image
from rtswap.media.samples import grace_hopper_path

SOURCE_SECONDS = 30


def start(source: Path, target: Path, env: dict[str, str]) -> float:
    command = [sys.executable, "-m", "rtswap", "-q", "live", "--source", str(source), "--input", str(target)]
    out = subprocess.run(
        [*command, "--output", "null", "--seconds", "1"], env=env, capture_output=True, text=True
    )
    found = re.search(r"first frame out ([\d.]+) s", out.stdout)
    if out.returncode or not found:
        sys.exit(f"rtswap live failed: {out.stderr or out.stdout}")
    return float(found.group(1))


IMPORTS = "import rtswap, time; import rtswap.cli, rtswap.swapper, mediapipe, av, cv2, scipy.spatial"


def import_time() -> float:
    """Seconds from importing rtswap to having imported the libraries a start needs."""
    code = f"{IMPORTS}; print(time.monotonic() - rtswap.IMPORTED_S)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rtswap-ttff-"))
    grace = read_image(grace_hopper_path())
    with FaceAnalyzer() as analyzer:
        head = SyntheticHead(grace, analyzer.analyze(grace, max_faces=1)[0].landmarks)
    fps = 30
    frames = [head.render(demo_motion(i / fps)) for i in range(SOURCE_SECONDS * fps)]
    write_clip(work / "source.mp4", frames, fps)
    write_clip(work / "target.mp4", list(SyntheticClip(640, 360, fps=fps, seconds=2)), fps)
    firsts, seconds = [], []
    for i in range(args.repeats):
        env = {**os.environ, "RTSWAP_CACHE": str(work / f"cache-{i}")}
        firsts.append(start(work / "source.mp4", work / "target.mp4", env))
        seconds.append(start(work / "source.mp4", work / "target.mp4", env))
    first, second = statistics.median(firsts), statistics.median(seconds)
    result = {
        "machine": machine(),
        "source": f"{SOURCE_SECONDS} s, {fps} fps, {grace.shape[1]}x{grace.shape[0]}",
        "first_start_s": firsts,
        "second_start_s": seconds,
        "import_s": round(statistics.median(import_time() for _ in range(args.repeats)), 2),
        "median_first_start_s": first,
        "median_second_start_s": second,
        "ratio_of_medians": round(first / second, 2),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
