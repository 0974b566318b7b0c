"""``--landmarks torch``: the PyTorch ports doing the pipeline's face analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import SyntheticClip, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.detect.face_mesh_torch import FaceMeshNet, Region, crops
from rtswap.detect.hands import HANDS_EVERY
from rtswap.frame import Frame
from rtswap.media.samples import grace_hopper_path
from rtswap.media.video import DecodedFrame
from rtswap.pipeline import Pipeline, PipelineConfig
from rtswap.runtime.cuda_graph import CudaGraphed
from rtswap.swapper import Swapper
from rtswap.testing.doubles import CollectSink, ListSource
from rtswap.testing.streams import on_own_streams


def test_a_still_is_analysed_as_mediapipe_analyses_it(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """A new face is placed from its box, then from its own landmarks; mediapipe places it from
    its own short-range detector, so the two differ by about a pixel at a 256 px face height."""
    with FaceAnalyzer(landmarks="torch") as ported:
        ours, theirs = ported.analyze(astro), analyzer.analyze(astro)
    assert len(ours) == len(theirs) == 1
    error = np.linalg.norm(ours[0].landmarks[:, :2] - theirs[0].landmarks[:, :2], axis=1).mean()
    assert error * 256 / theirs[0].height <= 2.0


def test_the_pipeline_tracks_and_swaps_with_the_ports(head: SyntheticHead) -> None:
    """Every frame of a moving head gets its face found, followed under one track id, and swapped."""
    frames = list(SyntheticClip(width=480, height=360, fps=30, seconds=0.4, head=head))
    sink = CollectSink()
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu", landmarks="torch"), progress=False) as swapper:
        assert swapper.face_swap.landmarks == "torch"
        Pipeline(swapper.face_swap, ListSource(frames), [sink], PipelineConfig(live=False)).run()
    faces: list[Frame] = sink.frames
    assert len(faces) == len(frames) and all(len(f.faces) == 1 for f in faces)
    assert len({f.faces[0].track_id for f in faces}) == 1
    assert all(not np.array_equal(out, src) for out, src in zip(sink.images, frames, strict=True))


def test_auto_is_mediapipe_on_the_cpu_and_torch_there_says_it_is_slower(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    with caplog.at_level("WARNING", logger="rtswap"):  # a cache of its own: no other test's entries
        config = SwapConfig(device="cpu")
        with Swapper(grace_hopper_path(), config, cache_root=tmp_path, progress=False) as swapper:
            assert swapper.face_swap.landmarks == "mediapipe"
        assert not caplog.text
        config = SwapConfig(device="cpu", landmarks="torch")
        with Swapper(grace_hopper_path(), config, cache_root=tmp_path, progress=False):
            assert "slower than mediapipe" in caplog.text


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_ports_give_on_cuda_what_they_give_on_the_cpu(astro: np.ndarray, grace: np.ndarray) -> None:
    found = {}
    for device in ("cpu", "cuda"):
        with FaceAnalyzer(landmarks="torch", device=device) as ported:
            found[device] = [face.landmarks for image in (astro, grace) for face in ported.analyze(image)]
    assert len(found["cpu"]) == len(found["cuda"]) == 2
    for a, b in zip(found["cpu"], found["cuda"], strict=True):
        assert np.abs(a[:, :2] - b[:, :2]).max() <= 0.1


def _mesh_crops_on_cuda(images: list[np.ndarray], analyzer: FaceAnalyzer) -> list[torch.Tensor]:
    """Each image's face as the mesh's (1, 3, 192, 192) crop, on CUDA."""
    return [
        crops(torch.from_numpy(image).cuda(), [Region.around(analyzer.analyze(image)[0].landmarks)])
        for image in images
    ]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_mesh_replayed_from_cuda_graphs_gives_what_it_gives_eagerly(
    astro: np.ndarray, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """One graph per batch size, each replay reading the call's own crops."""
    faces = _mesh_crops_on_cuda([astro, grace], analyzer)
    graphed = CudaGraphed(FaceMeshNet().cuda().eval())
    with torch.inference_mode():
        for batch in (faces[0], faces[1], torch.cat(faces), torch.cat(faces[::-1])):
            replayed, eager = graphed(batch), graphed.step(batch)
            for a, b in zip(replayed, eager, strict=True):
                assert torch.allclose(a, b, atol=1e-4)
    assert graphed.capturing


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_threads_on_their_own_streams_each_get_their_own_replay(
    astro: np.ndarray, grace: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """As the detector is called from the frame path and from the scans' thread, each on its own
    stream: a replay queued on one must not read or overwrite the graph's buffers under the other."""
    faces = _mesh_crops_on_cuda([astro, grace], analyzer)
    graphed = CudaGraphed(FaceMeshNet().cuda().eval())
    with torch.inference_mode():
        expected = [graphed.step(face)[0] for face in faces]
    got = on_own_streams(lambda k: [graphed(faces[k])[0] for _ in range(30)])
    for k in (0, 1):
        result = got[k]
        assert result is not None and len(result) == 30
        assert all(torch.allclose(p, expected[k], atol=1e-4) for p in result)


class _TensorSource(ListSource):
    """Hands its frames over as tensors, as a decoder or a peer that holds them on the GPU would."""

    def read(self) -> DecodedFrame | None:
        decoded = super().read()
        return None if decoded is None else DecodedFrame(torch.from_numpy(decoded.image), decoded.pts)


@pytest.mark.parametrize("landmarks", ["torch", "mediapipe"])
def test_frames_handed_over_as_tensors_are_swapped(head: SyntheticHead, landmarks: str) -> None:
    """With the ports the analysis reads the tensor itself and the frame gets a host copy only
    when hands are looked for (mediapipe's graph); with mediapipe every frame is copied to the host
    once, for the analysis."""
    frames = list(SyntheticClip(width=480, height=360, fps=30, seconds=0.4, head=head))
    sink = CollectSink()
    with Swapper(
        grace_hopper_path(), SwapConfig(device="cpu", landmarks=landmarks), progress=False
    ) as swapper:
        Pipeline(swapper.face_swap, _TensorSource(frames), [sink], PipelineConfig(live=False)).run()
    assert len(sink.frames) == len(frames) and all(len(f.faces) == 1 for f in sink.frames)
    assert all(not np.array_equal(out, src) for out, src in zip(sink.images, frames, strict=True))
    copied = [f.host is not None for f in sink.frames]
    if landmarks == "torch":
        assert copied == [k % HANDS_EVERY == 0 for k in range(len(frames))]
    else:
        assert all(copied)
