"""A different source per face: assignment by track, and the pixels each face gets."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.frame import Face
from rtswap.source_assignment import SourceAssignment
from rtswap.swapper import Swapper


def _face(track_id: int, x: float) -> Face:
    return Face(
        box=np.array([x, 0.0, x + 10, 10]),
        landmarks=np.zeros((478, 3), np.float32),
        score=1.0,
        track_id=track_id,
    )


def test_sources_go_left_to_right_and_stay_with_their_tracks() -> None:
    assignment = SourceAssignment(3)
    left, right = _face(1, 100.0), _face(2, 500.0)
    assert assignment.assign([right, left]) == [1, 0]  # by position, whatever the order given
    crossed_left, crossed_right = _face(1, 600.0), _face(2, 50.0)  # the two faces swap places
    assert assignment.assign([crossed_left, crossed_right]) == [0, 1]  # each keeps its source
    newcomer = _face(3, 300.0)
    assert assignment.assign([crossed_left, crossed_right, newcomer]) == [0, 1, 2]
    back = _face(4, 300.0)  # track 3 left; a new face takes the next source in line that is free
    assert assignment.assign([crossed_left, back]) == [0, 1]
    assert SourceAssignment(2).assign([_face(-1, 300.0), _face(-1, 20.0)]) == [1, 0]  # stills: by position


def test_each_face_gets_its_own_source(grace: np.ndarray, astro: np.ndarray) -> None:
    small = cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA)
    scene = np.concatenate([astro, np.pad(small, ((0, 256), (0, 0), (0, 0)))], axis=1)  # faces at left, right
    mirrored = np.ascontiguousarray(grace[:, ::-1])
    with Swapper([grace, mirrored], device="cpu") as both, Swapper(grace, device="cpu") as first:
        with Swapper(mirrored, device="cpu") as second:
            out, only_first, only_second = (s.swap_image(scene) for s in (both, first, second))
    assert not np.array_equal(only_first, only_second)
    assert np.array_equal(out[:, :512], only_first[:, :512])  # the left face has the first source
    assert np.array_equal(out[:, 512:], only_second[:, 512:])  # the right face the second
