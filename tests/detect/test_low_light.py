"""A face in a dark room is found, and swapped on every frame of a clip."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch

from rtswap.cli import main
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.detect.low_light import for_analysis
from rtswap.media.samples import grace_hopper_path
from rtswap.testing.camera import low_light
from tests.conftest import face_hull, write_video

DARK_ROOM = (0.18, 10)
"""A fifth of the light, the camera's gain making 10 levels of noise: a face a person sees at once."""


@pytest.mark.parametrize("landmarks", ["mediapipe", "torch"])
def test_faces_in_a_dark_room_are_found(astro: np.ndarray, grace: np.ndarray, landmarks: str) -> None:
    with FaceAnalyzer(landmarks=landmarks) as analyzer:
        for image in (astro, grace):
            dark = low_light(image, *DARK_ROOM)
            assert len(analyzer.analyze(dark)) == 1  # none before: "no face found"


def test_a_frame_that_is_not_dark_is_analysed_as_it_is(astro: np.ndarray) -> None:
    assert for_analysis(astro) is astro
    frame = torch.from_numpy(astro)
    assert for_analysis(frame) is frame
    dark = torch.from_numpy(low_light(astro, *DARK_ROOM))
    brightened = for_analysis(dark)
    assert brightened.shape == dark.shape and brightened.dtype == torch.uint8
    assert brightened.float().mean() > 2 * dark.float().mean()


def test_a_dark_clip_is_swapped_on_every_frame(
    astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """``rtswap swap`` on a dark, noisy clip drifting a pixel a frame, one frame of which is black
    (nothing to find): the face is swapped on every frame, the black one held where it was (and
    swapped dark, as a face in 2% of the light is: its change is smaller, as the frame's is)."""
    frames = [low_light(np.roll(astro, k, axis=1), *DARK_ROOM, seed=k) for k in range(10)]
    frames[5] = low_light(np.roll(astro, 5, axis=1), 0.02, 2, seed=5)
    clip, out = tmp_path / "dark.mp4", tmp_path / "swapped.mp4"
    write_video(clip, frames)
    assert main(["-q", "swap", "--source", str(grace_hopper_path()), str(clip), str(out)]) == 0
    inner = cv2.erode(face_hull(analyzer.analyze(astro)[0], astro.shape).astype(np.uint8), np.ones((15, 15)))
    with av.open(str(clip)) as a, av.open(str(out)) as b:
        pairs = list(zip(a.decode(video=0), b.decode(video=0), strict=True))
    assert len(pairs) == len(frames)
    for k, decoded in enumerate(pairs):
        before, after = (frame.to_ndarray(format="rgb24").astype(int) for frame in decoded)
        face = np.roll(inner, k, axis=1) > 0
        change = np.abs(after - before)
        # inside 4.5-5.2, outside (re-encoding) 1.7-2.2; on the black frame 2.9 and 0.7
        assert change[face].mean() > 2 * change[~face].mean(), k
