"""A hand of the face's own tone waving across it: how often the hand looks must come while a hand is
in view (``HANDS_IN_VIEW_EVERY`` in ``rtswap/detect/hands.py``) and how far a hand is moved on
between looks (``_AHEAD_AT_MOST``), by what a viewer sees and what it costs live.

The clip: Grace Hopper in a 1280x720 frame, 8 s at 30 fps; from frame 30 an open hand of her own
skin tone (``rtswap.testing.occluders.with_open_hand``: only the hand model finds it) waves from
side to side across her face, 120 px each way, once every ``--period`` frames (at 40, up to 19 px
a frame). For each setting (``EVERY:AHEAD``):

- offline (``rtswap swap``, looks inline, the same on every run): per frame, the mean change over
  the hand where it is on the face (its mask eroded by 3 px), and on how many frames that is over
  5 levels (the swap painted over part of the hand);
- live (``rtswap live --input CLIP --output null``, a fresh process per run, the cadences
  alternating): fps out and glass-to-glass p50/p95/p99, as the command prints them.

    python benchmarks/hand_sweep.py [--settings 6:0 3:0 3:3 2:0] [--period 40] [--runs 3] [--json PATH]
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
from typing import Any

import av
import cv2
import numpy as np
from revision import ROOT, head

from rtswap.bench.runner import machine
from rtswap.media.image import read_image
from rtswap.media.samples import astronaut, grace_hopper_path

_LINE = re.compile(
    r"([\d.]+) fps out, glass-to-glass latency p50 (\d+) ms, p95 (\d+) ms, p99 (\d+) ms, (\d+) frames dropped"
)
_FRAMES, _HAND_FROM, _AMPLITUDE_PX = 240, 30, 120
_PAINTED_LEVELS = 5.0


def make_clip(folder: Path, period: int) -> tuple[Path, np.ndarray, np.ndarray]:
    """The clip, the hand's mask on each frame, and her face's box in the frame."""
    from rtswap.detect.analyzer import FaceAnalyzer
    from rtswap.testing.occluders import skin_tone, with_open_hand

    grace = read_image(grace_hopper_path())
    frame = np.full((720, 1280, 3), 90, np.uint8)
    top, left = (720 - grace.shape[0]) // 2, (1280 - grace.shape[1]) // 2
    frame[top : top + grace.shape[0], left : left + grace.shape[1]] = grace
    landmarks = FaceAnalyzer().analyze(frame)[0].landmarks
    tone = skin_tone(frame, landmarks)
    clip, masks = folder / "hand-sweep.mp4", []
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "14"}
        for index in range(_FRAMES):
            image, mask = frame, np.zeros(frame.shape[:2], bool)
            if index >= _HAND_FROM:
                moved = landmarks.copy()
                moved[:, 0] += _AMPLITUDE_PX * np.sin(2 * np.pi * (index - _HAND_FROM) / period)
                image, mask = with_open_hand(frame, moved, tone)
            masks.append(mask)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())
    x0, y0 = landmarks[:, :2].min(axis=0).astype(int)
    x1, y1 = landmarks[:, :2].max(axis=0).astype(int)
    return clip, np.stack(masks), np.array([x0, y0, x1, y1])


def _rtswap(setting: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``rtswap ARGS`` in a fresh process, the hand looks set as ``setting`` (``EVERY:AHEAD``)."""
    code = (
        "import sys, rtswap.detect.hands as h; every, ahead = map(int, sys.argv[1].split(':')); "
        "h.HANDS_IN_VIEW_EVERY, h._AHEAD_AT_MOST = every, ahead; "
        "from rtswap.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code, setting, *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode:
        sys.exit(f"rtswap {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done


def painted(clip: Path, masks: np.ndarray, face: np.ndarray, setting: str, folder: Path) -> dict[str, Any]:
    source, out = folder / "astronaut.png", folder / f"swapped-{setting.replace(':', '-')}.mp4"
    cv2.imwrite(str(source), cv2.cvtColor(astronaut(), cv2.COLOR_RGB2BGR))
    _rtswap(setting, "swap", "--source", str(source), str(clip), str(out))
    inside = np.zeros(masks.shape[1:], bool)
    inside[face[1] : face[3], face[0] : face[2]] = True
    changes = []
    with av.open(str(clip)) as before, av.open(str(out)) as after:
        pairs = zip(before.decode(video=0), after.decode(video=0), strict=True)
        for index, (a, b) in enumerate(pairs):
            hand = cv2.erode(masks[index].astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & inside
            if index >= _HAND_FROM and hand.sum() > 200:
                change = np.abs(
                    b.to_ndarray(format="rgb24")[hand].astype(int) - a.to_ndarray(format="rgb24")[hand]
                )
                changes.append(float(change.mean()))
    return {
        "change_over_the_hand_median": round(statistics.median(changes), 2),
        "change_over_the_hand_p90": round(float(np.percentile(changes, 90)), 2),
        "frames_painted": sum(c > _PAINTED_LEVELS for c in changes),
        "frames_with_the_hand_on_the_face": len(changes),
    }


def live(clip: Path, setting: str, folder: Path) -> dict[str, Any]:
    source = folder / "astronaut.png"
    done = _rtswap(setting, "live", "--source", str(source), "--input", str(clip), "--output", "null")
    found = _LINE.search(done.stdout + done.stderr)
    if not found:
        sys.exit(f"rtswap live printed no summary: {done.stdout[-2000:]}")
    fps, p50, p95, p99, dropped = found.groups()
    return {
        "fps_out": float(fps),
        "latency_ms": {"p50": int(p50), "p95": int(p95), "p99": int(p99)},
        "dropped": int(dropped),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--settings", nargs="+", default=["6:0", "3:0", "3:3", "2:0"], help="EVERY:AHEAD pairs to compare"
    )
    parser.add_argument("--period", type=int, default=40, help="frames for the hand to wave there and back")
    parser.add_argument("--runs", type=int, default=3, help="live runs of each setting, alternating")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        clip, masks, face = make_clip(folder, args.period)
        results: dict[str, Any] = {
            "machine": machine(),
            "commit": head(),
            "period_frames": args.period,
            "settings": {
                s: {"offline": painted(clip, masks, face, s, folder), "live": []} for s in args.settings
            },
        }
        for _ in range(args.runs):
            for setting in args.settings:
                results["settings"][setting]["live"].append(live(clip, setting, folder))
    for setting, found in results["settings"].items():
        runs = found["live"]
        print(
            f"every:ahead {setting}: painted on {found['offline']['frames_painted']} of "
            f"{found['offline']['frames_with_the_hand_on_the_face']} frames; live p95 "
            f"{', '.join(str(r['latency_ms']['p95']) for r in runs)} ms, p99 "
            f"{', '.join(str(r['latency_ms']['p99']) for r in runs)} ms, fps "
            f"{', '.join(str(r['fps_out']) for r in runs)}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
