"""Stability benchmark: does a swapped face stay as still as the face it covers?

Clips made from our own photos, run through the pipeline frame by frame (``live=False``, every
frame kept, tracking on), Grace Hopper's face swapped onto every face:

- **still**: a 6-face group photo (three astronauts, three Grace Hoppers) held for 60 frames with
  sensor noise (σ 3 levels, fresh each frame);
- **drift**: the same photo moving 0.25 px per frame to the right (sub-pixel), with the same noise;
- **nod**: the synthetic astronaut head nodding (±6° pitch at 0.5 Hz), with the same noise.

Per face it reports R: the mean frame-to-frame change inside the face in the swap over the same
in the input (both blurred with σ 2, so sensor noise counts little; on the drift clip each frame
is first shifted back by its drift), over the frames after a track's first 2; and the settle
length on the still and drift clips: the frames from a face's first until its change stays within
1.5x its steady level (the median over the clip's second half). A face that crawls when it
appears has a long settle; one that shakes has R well above 1; a late jump (a look that switches
what it found) counts as not settled until then. And how far the swap strays from the face it
covers: a fresh face mesh on the input and on the swap, frame by frame, the spread (rms about its
mean, px) of the swap's landmarks' mean less the input's. A swap that trails a moving face strays
with the motion; R alone can read low for it (a swap that moves less than the face changes less).

    python benchmarks/stability.py [--json results.json] [--frames 60]
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Face
from rtswap.media.image import read_image
from rtswap.media.samples import astronaut, grace_hopper_path
from rtswap.pipeline.pipeline import Pipeline, PipelineConfig
from rtswap.swapper import Swapper
from rtswap.testing.doubles import CollectSink, ListSource

NOISE = 3.0
DRIFT_PX = 0.25
BLUR = 2.0
SETTLE_FACTOR = 1.5
SKIP = 2
"""A track's first frames, left out of R (the issue's bar: after a track's first 2 frames)."""


@dataclass
class FaceRow:
    clip: str
    face: str
    ratio: float
    settle: int | None
    """None on the nod: its change follows the motion, so it has no steady level."""
    swap_change: float
    input_change: float
    strays_px: float
    """The spread of the swap's place about the input's, frame by frame (px)."""


PEOPLE = ["astronaut", "Grace Hopper"] * 3
"""Who each face of the group photo is, left to right, top row first."""


def group_photo() -> np.ndarray:
    """1280x720: the two photos' faces, three of each (:data:`PEOPLE`), on a grey backdrop."""
    tiles = [astronaut()[20:300, 130:350], read_image(grace_hopper_path())[40:440, 96:416]]
    canvas = np.full((720, 1280, 3), 120, np.uint8)
    for i in range(6):
        tile = cv2.resize(tiles[i % 2], (200, 250), interpolation=cv2.INTER_AREA)
        x0, y0 = 80 + (i % 3) * 400, 60 + (i // 3) * 340
        canvas[y0 : y0 + 250, x0 : x0 + 200] = tile
    return canvas


def _noisy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return (image + rng.normal(0, NOISE, image.shape)).round().clip(0, 255).astype(np.uint8)


def _shifted(image: np.ndarray, dx: float) -> np.ndarray:
    matrix = np.array([[1, 0, dx], [0, 1, 0]], np.float32)
    size = (image.shape[1], image.shape[0])
    return cv2.warpAffine(image, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def clips(frames: int) -> dict[str, tuple[list[np.ndarray], float]]:
    """Name -> (frames, drift in px per frame)."""
    rng = np.random.default_rng(0)
    photo = group_photo()
    head = SyntheticHead.astronaut()
    nod = []
    for i in range(frames):
        rendered = head.render(Motion(pitch=6.0 * math.sin(2 * math.pi * 0.5 * i / 30)))
        nod.append(_noisy(rendered, rng))
    return {
        "still": ([_noisy(photo, rng) for _ in range(frames)], 0.0),
        "drift": ([_noisy(_shifted(photo, DRIFT_PX * i), rng) for i in range(frames)], DRIFT_PX),
        "nod": (nod, 0.0),
    }


def _in_order(faces: list[Face], image: np.ndarray) -> list[Face]:
    return sorted(faces, key=lambda f: (f.box[1] > image.shape[0] / 2, f.box[0]))  # rows, then x


def _face_masks(image: np.ndarray, analyzer: FaceAnalyzer) -> list[np.ndarray]:
    """Each face's landmark hull, shrunk a little (the change at the outline is the blend's)."""
    masks = []
    for face in _in_order(analyzer.analyze(image), image):
        mask = np.zeros(image.shape[:2], np.uint8)
        cv2.fillConvexPoly(mask, cv2.convexHull(face.landmarks[:, :2].round().astype(np.int32)), (1,))
        masks.append(cv2.erode(mask, np.ones((9, 9), np.uint8)).astype(bool))
    return masks


def _changes(frames: list[np.ndarray], drift: float, masks: list[np.ndarray]) -> np.ndarray:
    """(faces, frames - 1): mean |Δ| of the blurred luma inside each face, frame to frame."""
    luma = []
    for i, frame in enumerate(frames):
        grey = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        luma.append(cv2.GaussianBlur(_shifted(grey, -drift * i) if drift else grey, (0, 0), BLUR))
    deltas = np.abs(np.diff(np.stack(luma), axis=0))
    return np.stack([deltas[:, m].mean(axis=1) for m in masks])


def _strays(swapped: list[np.ndarray], frames: list[np.ndarray], analyzer: FaceAnalyzer) -> np.ndarray:
    """(faces,) the rms spread about its mean of each face's place in the swap less the input's."""
    apart = []
    for out, into in zip(swapped, frames, strict=True):
        places = [
            [f.landmarks[:, :2].mean(axis=0) for f in _in_order(analyzer.analyze(i), i)] for i in (out, into)
        ]
        apart.append(np.array(places[0]) - np.array(places[1]))
    spread = np.stack(apart) - np.mean(apart, axis=0)
    return np.sqrt((spread**2).sum(axis=2).mean(axis=0))


def measure(
    name: str, frames: list[np.ndarray], drift: float, swapper: Swapper, still: bool
) -> list[FaceRow]:
    sink = CollectSink()
    Pipeline(
        swapper.face_swap, ListSource(frames), [sink], PipelineConfig(live=False, label=False)
    ).run_sequential()
    with FaceAnalyzer() as analyzer:
        masks = _face_masks(frames[0], analyzer)
        strays = _strays(sink.images, frames, analyzer)
    swap, given = _changes(sink.images, drift, masks), _changes(frames, drift, masks)
    rows = []
    for face, (out, into) in enumerate(zip(swap, given, strict=True)):
        steady = float(np.median(out[len(out) // 2 :]))
        above = np.nonzero(out > SETTLE_FACTOR * steady)[0]
        settle = int(above[-1]) + 2 if len(above) else 1  # change i is between frames i and i + 1
        rows.append(
            FaceRow(
                name,
                f"{face} ({PEOPLE[face]})" if still else "astronaut",
                float(out[SKIP:].mean() / into[SKIP:].mean()),
                settle if still else None,
                float(out[SKIP:].mean()),
                float(into[SKIP:].mean()),
                float(strays[face]),
            )
        )
    return rows


def table(rows: list[FaceRow]) -> str:
    lines = [
        "| clip | face | R (swap/input change) | settle (frames) | swap change | input change | strays px |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.clip} | {r.face} | {r.ratio:.2f} | {'—' if r.settle is None else r.settle} "
            f"| {r.swap_change:.3f} | {r.input_change:.3f} | {r.strays_px:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    rows = []
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu")) as swapper:
        for name, (frames, drift) in clips(args.frames).items():
            rows += measure(name, frames, drift, swapper, still=name != "nod")
            print(table([r for r in rows if r.clip == name]), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)


if __name__ == "__main__":
    main()
