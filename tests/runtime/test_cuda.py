"""The CUDA path's first contact, for a device run (``pytest -m gpu``): each check here is one the
review of the CUDA path found would fail there, and each skips itself without CUDA."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.device import download
from rtswap.engines import create_engine
from rtswap.engines.base import EngineSettings, FaceBatch
from rtswap.errors import DependencyError
from rtswap.generate.face_swap import FaceSwap
from rtswap.identity import views
from rtswap.media.image import read_image
from rtswap.media.samples import grace_hopper_path
from rtswap.runtime import Precision
from rtswap.runtime.base import DTYPES
from rtswap.runtime.cuda_graph import CudaGraphed
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner, session
from rtswap.swapper import Swapper
from rtswap.testing.replicas import write_arcface, write_models, write_simswap
from rtswap.testing.streams import on_own_streams

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]
CUDA = torch.device("cuda")


@pytest.fixture(scope="module")
def simswap_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from rtswap.cli import main

    folder = write_models(tmp_path_factory.mktemp("models"))
    (folder / "w600k_r50.onnx").rename(folder / "simswap_arcface.onnx")
    generator = write_simswap(folder / "downloads-latest_net_G.pth", 224)
    assert main(["-q", "engines", "add", "--models", str(folder), str(generator)]) == 0
    return folder


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_preparing_on_cuda_keeps_the_generator_there(
    simswap_models: Path, analyzer: FaceAnalyzer, precision: Precision
) -> None:
    engine = create_engine(EngineSettings("simswap", CUDA, "eager", precision, simswap_models))
    view = views.view_of(read_image(grace_hopper_path()), analyzer, engine.template, CUDA)
    assert view is not None
    identity = engine.load(engine.prepare([view]))
    weight = next(engine._generator.parameters())  # type: ignore[attr-defined]  # the engine's own module
    assert weight.device.type == "cuda" and weight.dtype == DTYPES[precision]
    batch = FaceBatch(
        torch.as_tensor(view.landmarks, dtype=torch.float32, device=CUDA)[None],
        torch.as_tensor(view.depth, dtype=torch.float32, device=CUDA)[None],
        [(0.0, 0.0)],
    )
    swapped, _ = engine.swap(view.crop, batch, identity)
    assert swapped.device.type == "cuda" and torch.isfinite(swapped).all()


def test_onnxruntime_on_cuda_runs_there_or_says_why(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path = write_arcface(tmp_path / "arcface.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            created = session(path, CUDA)
        except DependencyError as exc:
            pytest.skip(f"onnxruntime has no working CUDA provider here: {exc}")
    assert created.get_providers()[0] == "CUDAExecutionProvider"
    example = [torch.rand(1, 3, 112, 112)]
    on_cuda = OnnxRuntimeRunner(path, CUDA, example=example)
    on_cuda.warmup([1, 2, 4])  # inputs bound by their device pointers: the example moves first
    batch = torch.rand(3, 3, 112, 112)
    expected = OnnxRuntimeRunner(path, torch.device("cpu"))(batch)
    torch.testing.assert_close(on_cuda(batch.to(CUDA)).cpu(), expected, atol=1e-3, rtol=1e-3)


def test_one_frame_syncs_the_host_a_known_number_of_times(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """Records how often one frame's swap, composite and paste wait for the GPU (the device run's
    figure for the sync work still to do); fails only if the path errors under the debug mode."""
    with Swapper(
        grace_hopper_path(), SwapConfig(device="cuda", landmarks="torch"), progress=False
    ) as swapper:
        face_swap, faces = swapper.face_swap, analyzer.analyze(astro)
        frame = torch.from_numpy(astro.copy()).to(CUDA)
        with torch.inference_mode():
            face_swap.apply(frame.clone(), faces)  # warm
            torch.cuda.set_sync_debug_mode("warn")
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    face_swap.apply(frame, faces)
                    torch.cuda.synchronize()
            finally:
                torch.cuda.set_sync_debug_mode("default")
    print(f"host syncs in one frame: {sum('synchroniz' in str(w.message) for w in caught)}")


def test_two_sessions_on_one_engine_each_get_their_own_face(
    grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """Two sessions (FaceSwaps on one engine, so one runner) swapping from two threads at once:
    each frame comes back as that session alone makes it."""
    faces = analyzer.analyze(astro)
    with Swapper([grace, astro], SwapConfig(device="cuda")) as both:
        engine = both.face_swap.engine
        sessions = [FaceSwap(engine, [identity]) for identity in both.face_swap.identities]

        def swapped(session: FaceSwap) -> np.ndarray:
            with torch.inference_mode():
                frame = torch.from_numpy(astro.copy()).to(CUDA)
                session.apply(frame, faces)
                return frame.cpu().numpy()

        expected = [swapped(session) for session in sessions]
        results: list[list[np.ndarray]] = [[], []]

        def run(k: int) -> None:
            results[k].extend(swapped(sessions[k]) for _ in range(10))

        threads = [threading.Thread(target=run, args=(k,)) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not np.array_equal(expected[0], expected[1])
    assert all(np.array_equal(r, expected[k]) for k in range(2) for r in results[k])


def test_frames_come_to_the_host_whole_while_the_device_goes_on() -> None:
    """The output stage's copy through pinned memory: each array keeps its own frame's pixels
    although the device overwrites the frame for the next one straight after."""
    frame = torch.zeros(480, 640, 3, dtype=torch.uint8, device=CUDA)
    arrays = []
    for value in range(1, 6):
        frame.fill_(value)
        arrays.append(download(frame))
    assert [int(a.min()) for a in arrays] == [int(a.max()) for a in arrays] == [1, 2, 3, 4, 5]


def _many_small_kernels(x: torch.Tensor) -> torch.Tensor:
    for _ in range(200):
        x = x * 1.001 + 0.001
    return x


def test_two_threads_capturing_at_once_both_keep_their_graphs() -> None:
    """The mesh and the composite meet a new number of faces on their own threads at the same
    moment: the second capture must wait for the first, not end both and leave each step eager."""
    steps = [CudaGraphed(_many_small_kernels), CudaGraphed(_many_small_kernels)]
    shapes = [[torch.full((rows, 64), float(k), device=CUDA) for rows in range(1, 9)] for k in (0, 1)]
    got = on_own_streams(lambda k: [steps[k](x) for x in shapes[k]])
    assert all(step.capturing for step in steps)
    for k in (0, 1):
        expected = [_many_small_kernels(x) for x in shapes[k]]
        result = got[k]
        assert result is not None and len(result) == 8
        assert all(torch.allclose(g, e) for g, e in zip(result, expected, strict=True))
