"""Tensors shared between stages on CUDA streams: a frame's memory is not reused while a stage's
queued work still reads it."""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest
import torch

from rtswap.capture.synthetic import SyntheticSource
from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Frame
from rtswap.media.samples import grace_hopper_path
from rtswap.pipeline import Pipeline, PipelineConfig
from rtswap.swapper import Swapper
from rtswap.testing.doubles import CollectSink
from tests.conftest import face_change


def test_a_stage_marks_every_tensor_of_the_frame_as_in_use_on_its_stream(
    grace_swapper: Swapper, astro: np.ndarray, analyzer: FaceAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = torch.from_numpy(astro.copy())
    frame = Frame(index=0, capture_ns=0, host=astro, image=image)
    frame.work = grace_swapper.face_swap.swap(image, analyzer.analyze(astro))
    assert frame.work is not None
    grace_swapper.face_swap.composite(frame.work)
    recorded: list[tuple[int, object]] = []
    monkeypatch.setattr(torch.Tensor, "record_stream", lambda t, s: recorded.append((t.data_ptr(), s)))
    stream = cast(torch.cuda.Stream, object())  # a token: record_stream is the stand-in above
    frame.record_stream(stream)
    work = frame.work
    expected = [image, work.crops, work.swapped, work.mask, work.landmarks, work.changes, work.grain]
    expected += work.regions.pixels
    assert sorted(ptr for ptr, _ in recorded) == sorted(t.data_ptr() for t in expected if t is not None)
    assert all(s is stream for _, s in recorded)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_frames_dropped_on_cuda_do_not_corrupt_the_frames_that_pass(head: SyntheticHead) -> None:
    """A live run on CUDA with a slow sink drops most frames; every frame that reaches the sink
    is its own captured frame, byte for byte, away from the face (memory handed to a newer frame
    while queued work still used it would show another frame's pixels there)."""
    clip = SyntheticClip(width=640, height=480, fps=30, seconds=1.5, head=head)
    slow = CollectSink(delay_s=0.1)
    with Swapper(grace_hopper_path(), SwapConfig(device="cuda"), progress=False) as swapper:
        source = SyntheticSource(clip, paced=True, loop=False)
        report = Pipeline(swapper.face_swap, source, [slow], PipelineConfig(live=True, label=False)).run()
    assert report.dropped > 0 and slow.frames
    for image, frame in zip(slow.images, slow.frames, strict=True):
        assert len(frame.faces) == 1
        assert face_change(clip.frame(frame.index), image, frame.faces[0])[1] == 0
