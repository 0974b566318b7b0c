from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.detect.mediapipe_graphs import FaceDetector, FaceMesh
from rtswap.track.tracker import HOLD_FRAMES, FaceTracker

SIDE = 400
WIDTH = 1280


def _crossing_frames(head: SyntheticHead, count: int) -> list[np.ndarray]:
    """Two heads passing each other: one left to right along the top, one right to left along
    the bottom, so their left-to-right order swaps halfway."""
    tile = cv2.resize(head.render(Motion()), (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(count):
        canvas = np.full((2 * SIDE + 20, WIDTH, 3), 90, np.uint8)
        x = round(i * (WIDTH - SIDE) / (count - 1))
        canvas[0:SIDE, x : x + SIDE] = tile
        canvas[SIDE + 20 :, WIDTH - SIDE - x : WIDTH - x] = tile
        frames.append(canvas)
    return frames


@pytest.fixture(scope="module")
def parts() -> Iterator[tuple[FaceDetector, FaceMesh]]:
    detector, mesh = FaceDetector(), FaceMesh()
    yield detector, mesh
    detector.close()
    mesh.close()


def test_track_ids_stay_with_faces_that_move_and_cross(
    head: SyntheticHead, parts: tuple[FaceDetector, FaceMesh]
) -> None:
    detector, mesh = parts
    tracker = FaceTracker(mesh)
    paths: dict[int, list[tuple[float, float]]] = {}
    for i, frame in enumerate(_crossing_frames(head, 30)):
        detections = detector.detect(frame) if i % 5 == 0 else None  # detect every 5th frame only
        for face in tracker.update(frame, i / 30, detections):
            centre = (face.box[:2] + face.box[2:]) / 2
            paths.setdefault(face.track_id, []).append((float(centre[0]), float(centre[1])))
    assert sorted(paths) == [0, 1]  # two faces, two ids, never a new one
    assert all(len(path) == 30 for path in paths.values())  # both followed on every frame
    for path in paths.values():
        xs, ys = np.array(path).T
        assert np.ptp(ys) < 20  # each id stays on its own row...
        steps = np.diff(xs)
        assert (steps > 0).all() or (steps < 0).all()  # ...and keeps going its own way


def test_a_face_that_leaves_is_held_a_few_frames_then_its_track_ends(
    head: SyntheticHead, parts: tuple[FaceDetector, FaceMesh]
) -> None:
    detector, mesh = parts
    tracker = FaceTracker(mesh)
    frame = _crossing_frames(head, 2)[0]
    faces = tracker.update(frame, 0.0, detector.detect(frame))
    bottom = next(f.track_id for f in faces if f.box[1] > SIDE)
    assert len(faces) == 2
    frame[:SIDE] = 90  # the top face walks out: held where it was heading for a few frames...
    for k in range(1, HOLD_FRAMES + 1):
        faces = tracker.update(frame, k / 30)
        assert sorted((f.track_id == bottom, f.held) for f in faces) == [(False, True), (True, False)]
    assert [f.track_id for f in tracker.update(frame, 1.0)] == [bottom]  # ...then its track ends


def test_smoothing_steadies_a_still_face(head: SyntheticHead, parts: tuple[FaceDetector, FaceMesh]) -> None:
    detector, mesh = parts
    frame = cv2.resize(head.render(Motion()), (256, 256), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(1)
    noisy = [np.clip(frame + rng.normal(0, 6, frame.shape), 0, 255).astype(np.uint8) for _ in range(30)]
    found = [mesh.landmarks(im, detector.detect(im)[0].box) for im in noisy]
    raw = [points[:, :2] for points in found if points is not None]
    assert len(raw) == len(noisy)
    tracker = FaceTracker(mesh)
    smoothed = [
        tracker.update(im, i / 30, detector.detect(im))[0].landmarks[:, :2] for i, im in enumerate(noisy)
    ]
    jitter_raw = np.abs(np.diff(raw, axis=0)).mean()
    jitter_smoothed = np.abs(np.diff(smoothed[10:], axis=0)).mean()
    assert jitter_smoothed < 0.6 * jitter_raw


def test_while_tracking_the_detector_sweeps_the_whole_frame_and_one_tile_at_a_time() -> None:
    from rtswap.detect.step import _sweep

    regions = [(0, 0, 1280, 720), *[(i, 0, i + 10, 10) for i in range(6)]]  # whole frame, then tiles
    scanned = [_sweep(regions, index, every=10) for index in range(120)]
    assert all(scanned[i] == [regions[0]] for i in range(0, 120, 10))  # whole frame every 10 frames
    tiles = [s[0] for i, s in enumerate(scanned) if i % 10 == 5]
    assert tiles == regions[1:] * 2  # halfway between, each tile in turn
    assert sum(len(s) for s in scanned) == 24  # nothing on the other frames
    assert _sweep(regions, 3, every=1) == regions  # --detect-every 1: everything, every frame


def _sliding(image: np.ndarray, steps: list[float]) -> list[np.ndarray]:
    """``image`` in a 640x480 frame, moved right by each of ``steps`` (px) in turn, with noise."""
    rng, frames, x = np.random.default_rng(2), [], 0.0
    for step in [0.0, *steps]:
        x += step
        matrix = np.array([[1, 0, 200 + x], [0, 1, 120]], np.float32)
        frame = cv2.warpAffine(image, matrix, (640, 480), flags=cv2.INTER_CUBIC, borderValue=(90, 90, 90))
        frames.append((frame + rng.normal(0, 3, frame.shape)).round().clip(0, 255).astype(np.uint8))
    return frames


@pytest.mark.parametrize("steps", [[0.25] * 15, [0.0] * 8 + [6.0] * 8], ids=["drifting", "starting"])
def test_a_moving_face_is_followed_from_its_first_frames_without_lag(
    astro: np.ndarray, parts: tuple[FaceDetector, FaceMesh], steps: list[float]
) -> None:
    """The face's pixels carry its place; the smoothing only takes out the landmarks' jitter.
    Before, the place's filter started at rest: a face drifting 0.25 px a frame from its first
    frame fell 0.18, 0.36, 0.51 ... 1.0 px behind over 10 frames (a crawl), and a still face that
    set off at 6 px a frame was 4.3 px behind on its first frame of motion (0.2 and 0.17 px now)."""
    detector, mesh = parts
    face = astro[20:300, 130:350]
    frames = _sliding(face, steps)
    tracker = FaceTracker(mesh)
    places = [
        tracker.update(frame, i / 30, detector.detect(frame) if i == 0 else None)[0].landmarks[:, 0].mean()
        for i, frame in enumerate(frames)
    ]
    behind = np.cumsum([0.0, *steps]) - (np.array(places) - places[0])
    assert np.abs(behind).max() < 0.3
