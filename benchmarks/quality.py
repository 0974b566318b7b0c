"""Quality benchmark: does the swap carry the source's identity and keep everything else?

Judges (``pip install -e .[quality]``): dlib's 128-d ResNet face descriptor (same person:
distance < 0.6 by dlib's own threshold) and its 68-point shape predictor for mouth opening; head
pose from a fresh mediapipe face-mesh run on each image, as the rotation between the target's
and the swap's 3D landmark clouds (Kabsch over all 468 surface points; a 6-point solvePnP on a
generic 3D face was tried first and was off by tens of degrees on the unswapped target alone);
and pitch again from where the swap's landmarks sit in the image only ("2D": the target's 3D
landmarks rotated, projected and fitted to them), since the landmark model's depth follows the
face's look. Per source -> target pair it reports

  d(target, source)   d(swap, source)   d(swap, target)   |Δyaw| |Δpitch| |Δroll| (swap vs target)
  |Δpitch| 2D   |Δmouth| (inner-lip gap / face height)   light corr   darkest jaw Δ
  max |Δpixel| outside the dilated face region

The light (``rtswap.testing.judges.light``): the correlation of the swap's luminance with the
target's over the face, both blurred by 15% of the face's height (the target's light must come
through), and the swap's darkest jaw or chin patch (blurred by 4%) less the target's, in levels (a
source's shadow pasted as a smudge shows well below 0). The face region is the convex hull of the
target's landmarks dilated by 10% of the face height. The pairs: Grace Hopper and the astronaut
each way, Grace Hopper onto demo frames, and across skin tones with the astronaut's darker-skinned
variant (``rtswap.testing.skin``; one person, so there d(swap, source) is how much of the source
photo's tones the swap keeps, not identity).

Then occluders, on glasses frames and hands drawn on the photos (``rtswap.testing.occluders``),
with the target's occluders kept (the default) and with ``--no-occluders``: the darkest row of the
forehead's change under a source with a fringe (a pasted fringe is a dark band); the mean change
on drawn frames (0: they stay on top), dark ones, which the skin model finds, and clear ones of a
skin-like tint, which only their rims' shape gives away (``rtswap.blend.occluders.rims``); the change
where a source's clear rims were, swapping her onto herself without them (0: not pasted); and
on the hands: a dark one, which the skin model finds, and an open one of the face's own tone,
which only the hand model finds.

Then turning faces: the synthetic head turned ±35° at a 400 px face height, Grace Hopper's face
swapped on; the far cheek's roughness over the near cheek's
(``rtswap.capture.synthetic_heads.cheek_roughness``) in the target and in the swap. A tear on the
far cheek makes the swap's ratio the larger.

Then what the judges read on known changes: the synthetic head pitched, turned, its mouth
opened; and drawn glasses frames (dlib's distance to the same face without them).

Last, a cheap webcam's picture (``benchmarks/degraded.py``): motion blur, a dim room with noise, a
dark room; found or not, sharpness and grain of the swap over the target's, identity kept.

    python benchmarks/quality.py [--json results.json] [--clip-frames 6] [--shape source]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from degraded import DegradedRow, degraded_rows, degraded_table

from rtswap.capture.synthetic_heads import Motion, SyntheticClip, SyntheticHead, cheek_roughness
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.media.image import read_image
from rtswap.media.samples import astronaut, grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.testing.judges import Judge, Row, face_region, measure
from rtswap.testing.occluders import (
    FRAME_COLOUR,
    TINTED_FRAME_COLOUR,
    TINTED_FRAME_OPACITY,
    forehead_rows,
    skin_tone,
    with_glasses,
    with_hand,
    with_open_hand,
)
from rtswap.testing.skin import darker_skin


def run(clip_frames: int, shape: str = "target") -> list[Row]:
    judge, analyzer = Judge(), FaceAnalyzer()
    grace, astro = read_image(grace_hopper_path()), astronaut()
    darker = darker_skin(astro, analyzer.analyze(astro)[0].landmarks)
    rows = []
    with (
        Swapper(grace, SwapConfig(shape=shape)) as to_grace,
        Swapper(astro, SwapConfig(shape=shape)) as to_astro,
        Swapper(darker, SwapConfig(shape=shape)) as to_darker,
    ):
        faces = {
            "Grace Hopper": (grace, to_grace),
            "astronaut": (astro, to_astro),
            "darker astronaut": (darker, to_darker),
        }
        for source, target in (
            ("Grace Hopper", "astronaut"),
            ("astronaut", "Grace Hopper"),
            ("Grace Hopper", "darker astronaut"),  # between lighter and darker skin: one person,
            ("astronaut", "darker astronaut"),  # so d(swap, source) says how much of the source
            ("darker astronaut", "astronaut"),  # photo's tones are kept, not identity
        ):
            (source_image, swapper), target_image = faces[source], faces[target][0]
            swapped = swapper.swap_image(target_image)
            rows.append(
                measure(f"{source} -> {target}", judge, analyzer, source_image, target_image, swapped)
            )
        clip = SyntheticClip()
        for index in np.linspace(0, len(clip) - 1, clip_frames).round().astype(int):
            frame = clip.frame(int(index))
            rows.append(
                measure(
                    f"Grace Hopper -> demo frame {index}",
                    judge,
                    analyzer,
                    grace,
                    frame,
                    to_grace.swap_image(frame),
                )
            )
    analyzer.close()
    return rows


@dataclass
class OccluderRow:
    case: str
    measure: str
    with_occluders: float
    without: float


def occluder_rows() -> list[OccluderRow]:
    """What covers a face (``rtswap.blend.occluders.skin``), on occluders drawn on the two photos:
    each measure with the target's occluders kept on top (the default) and with --no-occluders.
    The source side (a source's fringe left out of its texture) is on in both."""
    analyzer = FaceAnalyzer()
    grace, astro = read_image(grace_hopper_path()), astronaut()
    grace_face, astro_face = analyzer.analyze(grace)[0], analyzer.analyze(astro)[0]
    glasses, frames = with_glasses(astro, astro_face.landmarks)
    clear, clear_frames = with_glasses(astro, astro_face.landmarks, TINTED_FRAME_COLOUR, TINTED_FRAME_OPACITY)
    lower_rims = clear_frames & face_region(astro, analyzer)
    lower_rims[: round(astro_face.landmarks[[LEFT_IRIS, RIGHT_IRIS], 1].max()) + 3] = False
    hand, palm = with_hand(grace, grace_face.landmarks)
    own_hand, own_palm = with_open_hand(grace, grace_face.landmarks, skin_tone(grace, grace_face.landmarks))
    frames &= face_region(astro, analyzer)
    clear_frames &= face_region(astro, analyzer)
    darker = darker_skin(astro, astro_face.landmarks)
    darker_glasses, darker_frames = with_glasses(darker, analyzer.analyze(darker)[0].landmarks)
    darker_frames &= face_region(darker, analyzer)
    palm &= face_region(grace, analyzer)
    own_palm &= face_region(grace, analyzer)
    analyzer.close()
    values: dict[str, list[float]] = {}
    for keep in (True, False):
        with (
            Swapper(grace, SwapConfig(keep_occluders=keep)) as to_grace,
            Swapper(astro, SwapConfig(keep_occluders=keep)) as to_astro,
            Swapper(clear, SwapConfig(keep_occluders=keep)) as to_astro_in_glasses,
        ):
            band = forehead_rows(grace, to_astro.swap_image(grace), grace_face.landmarks).min()
            on_frames = np.abs(to_grace.swap_image(glasses)[frames].astype(int) - glasses[frames]).mean()
            on_darker = np.abs(
                to_grace.swap_image(darker_glasses)[darker_frames].astype(int) - darker_glasses[darker_frames]
            ).mean()
            on_clear = np.abs(
                to_grace.swap_image(clear)[clear_frames].astype(int) - clear[clear_frames]
            ).mean()
            pasted = np.abs(
                to_astro_in_glasses.swap_image(astro)[lower_rims].astype(int) - astro[lower_rims]
            ).mean()
            on_hand = np.abs(to_astro.swap_image(hand)[palm].astype(int) - hand[palm]).mean()
            on_own = np.abs(to_astro.swap_image(own_hand)[own_palm].astype(int) - own_hand[own_palm]).mean()
        measured = [("band", band), ("frames", on_frames), ("darker", on_darker), ("clear", on_clear)]
        for key, value in [*measured, ("pasted", pasted), ("hand", on_hand), ("own", on_own)]:
            values.setdefault(key, []).append(float(value))
    return [
        OccluderRow("astronaut (fringe) -> Grace Hopper", "darkest forehead row, Δ luma", *values["band"]),
        OccluderRow(
            "Grace Hopper -> astronaut with drawn glasses", "mean |Δ| on the frames", *values["frames"]
        ),
        OccluderRow(
            "Grace Hopper -> darker astronaut with drawn glasses", "mean |Δ| on the frames", *values["darker"]
        ),
        OccluderRow(
            "Grace Hopper -> astronaut with clear frames", "mean |Δ| on the frames", *values["clear"]
        ),
        OccluderRow(
            "astronaut with clear frames -> astronaut",
            "mean |Δ| where the lower rims were",
            *values["pasted"],
        ),
        OccluderRow(
            "astronaut -> Grace Hopper, hand over the mouth", "mean |Δ| on the hand", *values["hand"]
        ),
        OccluderRow(
            "astronaut -> Grace Hopper, open hand of her own tone", "mean |Δ| on the hand", *values["own"]
        ),
    ]


def occluder_table(rows: list[OccluderRow]) -> str:
    head = "| case | measure | occluders kept | --no-occluders |\n|---|---|---|---|"
    lines = [f"| {r.case} | {r.measure} | {r.with_occluders:.3f} | {r.without:.3f} |" for r in rows]
    return "\n".join([head, *lines])


@dataclass
class TurnRow:
    yaw: float
    target: float
    swap: float


def turn_rows() -> list[TurnRow]:
    """Far-cheek over near-cheek roughness of the turned synthetic head, before and after the swap."""
    head, rows = SyntheticHead.astronaut(), []
    with FaceAnalyzer() as analyzer, Swapper(grace_hopper_path()) as swapper:
        for yaw in (-35.0, 35.0):
            image = head.render(Motion(yaw=yaw))
            scale = 400 / analyzer.analyze(image)[0].height
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            landmarks = analyzer.analyze(image)[0].landmarks
            swap = swapper.swap_image(image)
            rows.append(
                TurnRow(yaw, _far_over_near(image, landmarks, yaw), _far_over_near(swap, landmarks, yaw))
            )
    return rows


def _far_over_near(image: np.ndarray, landmarks: np.ndarray, yaw: float) -> float:
    left, right = cheek_roughness(image, landmarks)
    return left / right if yaw < 0 else right / left


def turn_table(rows: list[TurnRow]) -> str:
    head = "| yaw | target: far/near cheek roughness | swap |\n|---|---|---|"
    return "\n".join([head, *(f"| {r.yaw:+.0f}° | {r.target:.2f} | {r.swap:.2f} |" for r in rows)])


@dataclass
class JudgeRow:
    """What the judges read on a known change: the synthetic head moved, or glasses drawn on."""

    change: str
    yaw: float
    pitch: float
    pitch_2d: float
    distance: float
    """dlib's descriptor distance."""


def judge_rows() -> list[JudgeRow]:
    """The synthetic head (flat-ish: it turns less than it is told) pitched, turned and with its
    mouth open, against its rest pose; and the astronaut with drawn frames against herself."""
    judge, head, rows = Judge(), SyntheticHead.astronaut(), []
    with FaceAnalyzer() as analyzer:
        rest = head.render(Motion())
        for name, motion in [
            ("pitched 3°", Motion(pitch=3)),
            ("pitched 6°", Motion(pitch=6)),
            ("pitched -6°", Motion(pitch=-6)),
            ("turned 5°", Motion(yaw=5)),
            ("mouth half open", Motion(mouth=0.5)),
        ]:
            moved = head.render(motion)
            row = measure(name, judge, analyzer, rest, rest, moved)
            rows.append(JudgeRow(name, row.yaw_diff, row.pitch_diff, row.pitch_diff_2d, row.d_swap_target))
        astro = astronaut()
        landmarks = analyzer.analyze(astro)[0].landmarks
        for name, colour, opacity in [
            ("dark frames drawn on", FRAME_COLOUR, 1.0),
            ("clear frames drawn on", TINTED_FRAME_COLOUR, TINTED_FRAME_OPACITY),
        ]:
            framed = with_glasses(astro, landmarks, colour, opacity)[0]
            row = measure(name, judge, analyzer, astro, astro, framed)
            rows.append(JudgeRow(name, row.yaw_diff, row.pitch_diff, row.pitch_diff_2d, row.d_swap_target))
    return rows


def judge_table(rows: list[JudgeRow]) -> str:
    head = "| change | Δyaw° | Δpitch° | Δpitch° 2D | dlib distance |\n|---|---|---|---|---|"
    lines = [
        f"| {r.change} | {r.yaw:.2f} | {r.pitch:.2f} | {r.pitch_2d:.2f} | {r.distance:.3f} |" for r in rows
    ]
    return "\n".join([head, *lines])


def camera_rows() -> list[DegradedRow]:
    grace, astro = read_image(grace_hopper_path()), astronaut()
    with (
        FaceAnalyzer() as analyzer,
        Swapper(grace, SwapConfig()) as to_grace,
        Swapper(astro, SwapConfig()) as to_astro,
    ):
        pairs = [("astronaut", astro, grace, to_grace), ("Grace Hopper", grace, astro, to_astro)]
        return degraded_rows(Judge(), analyzer, pairs)


def table(rows: list[Row]) -> str:
    head = (
        "| pair | d(target,source) | d(swap,source) | d(swap,target) | Δyaw° | Δpitch° | Δroll° "
        "| Δpitch° 2D | Δmouth | light corr | darkest jaw Δ | max Δ outside |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [
        f"| {r.pair} | {r.d_target_source:.3f} | {r.d_swap_source:.3f} | {r.d_swap_target:.3f} | "
        f"{r.yaw_diff:.2f} | {r.pitch_diff:.2f} | {r.roll_diff:.2f} | {r.pitch_diff_2d:.2f} | "
        f"{r.mouth_diff:.3f} | {r.light_corr:.3f} | {r.dark_jaw:.1f} | {r.outside_max} |"
        for r in rows
    ]
    return "\n".join([head, *lines])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    parser.add_argument("--clip-frames", type=int, default=6, help="demo-clip frames to judge (default 6)")
    parser.add_argument(
        "--shape", choices=("target", "source"), default="target", help="the pairs' --shape (default target)"
    )
    args = parser.parse_args()
    rows, occluded, turned, judged, degraded = (
        run(args.clip_frames, args.shape),
        occluder_rows(),
        turn_rows(),
        judge_rows(),
        camera_rows(),
    )
    tables = [
        table(rows),
        occluder_table(occluded),
        turn_table(turned),
        judge_table(judged),
        degraded_table(degraded),
    ]
    print("\n\n".join(tables))
    if args.json:
        result = {
            "pairs": [asdict(r) for r in rows],
            "occluders": [asdict(r) for r in occluded],
            "turning": [asdict(r) for r in turned],
            "judges": [asdict(r) for r in judged],
            "degraded": [asdict(r) for r in degraded],
        }
        args.json.write_text(json.dumps(result, indent=2))
    worst_pose = max(max(r.yaw_diff, r.pitch_diff, r.roll_diff) for r in rows)
    print(
        f"\nworst pose difference {worst_pose:.2f}°, worst outside change {max(r.outside_max for r in rows)}"
    )
    if any(math.isnan(r.d_swap_source) for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
