"""A different source per face: assignment by track, and the pixels each face gets."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rtswap.config import SwapConfig
from rtswap.frame import Face
from rtswap.identity.assignment import SourceAssignment
from rtswap.media.image import read_image, write_image
from rtswap.swapper import Swapper
from rtswap.testing.replicas import write_models


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
    cpu = SwapConfig(device="cpu")
    with Swapper([grace, mirrored], cpu) as both, Swapper(grace, cpu) as first:
        with Swapper(mirrored, SwapConfig(device="cpu")) as second:
            out, only_first, only_second = (s.swap_image(scene) for s in (both, first, second))
    assert not np.array_equal(only_first, only_second)
    assert np.array_equal(out[:, :512], only_first[:, :512])  # the left face has the first source
    assert np.array_equal(out[:, 512:], only_second[:, 512:])  # the right face the second


def test_map_gives_each_reference_person_their_source(
    grace: np.ndarray,
    astro: np.ndarray,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """astronaut -> Grace Hopper and Grace Hopper -> astronaut, wherever each stands."""
    from rtswap.cli import main

    models = write_models(tmp_path / "models")  # its ArcFace tells the two apart
    grace_small = cv2.resize(grace, (round(grace.shape[1] * 512 / grace.shape[0]), 512))
    scene = np.ascontiguousarray(np.concatenate([grace_small, astro], axis=1))  # Grace left, astronaut right
    for name, image in (("grace.png", grace), ("astro.png", astro), ("scene.png", scene)):
        write_image(tmp_path / name, image)
    maps = ["--map", f"{tmp_path / 'astro.png'}={tmp_path / 'grace.png'}"]
    maps += ["--map", f"{tmp_path / 'grace.png'}={tmp_path / 'astro.png'}"]
    argv = ["-q", "swap", "--no-label", "--models", str(models), *maps, str(tmp_path / "scene.png")]
    assert main([*argv, str(tmp_path / "out.png")]) == 0
    out = read_image(tmp_path / "out.png")
    split = grace_small.shape[1]
    for name in ("astro.png", "grace.png"):  # every face to one of them
        one = ["-q", "swap", "--no-label", "--source", str(tmp_path / name), str(tmp_path / "scene.png")]
        assert main([*one, str(tmp_path / f"all-{name}")]) == 0
    assert np.array_equal(
        out[:, :split], read_image(tmp_path / "all-astro.png")[:, :split]
    )  # Grace became her
    assert np.array_equal(
        out[:, split:], read_image(tmp_path / "all-grace.png")[:, split:]
    )  # and the reverse

    assert (
        main(
            [
                *argv[:3],
                "--models",
                str(tmp_path / "empty"),
                *maps,
                str(tmp_path / "scene.png"),
                str(tmp_path / "o2.png"),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--map compares faces by their ArcFace embeddings and needs" in err[0]
