"""The inswapper engine on replicas of the user's checkpoint: layout, parity between backends,
boost, the prepared source, and the whole swap."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import create_engine
from rtswap.engines.arcface import TEMPLATE, ArcFace
from rtswap.engines.base import EngineSettings, FaceBatch
from rtswap.engines.boost import merge_subgrids, split_subgrids
from rtswap.engines.inswapper import graph, layout
from rtswap.engines.inswapper.engine import InswapperEngine, InswapperIdentity
from rtswap.engines.inswapper.model import InswapperGenerator, latent, styles
from rtswap.errors import ModelLoadError
from rtswap.identity.cache import IdentityCache
from rtswap.identity.store import IdentityStore
from rtswap.media.samples import grace_hopper_path
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner
from rtswap.testing.replicas import NARROW, write_arcface, write_models
from rtswap.weights import onnx_io
from tests.conftest import count_collects, face_change


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_models(tmp_path_factory.mktemp("models"))


def _source(seed: int = 0) -> torch.Tensor:
    return latent(torch.randn(512, generator=torch.Generator().manual_seed(seed)), torch.eye(512))


def test_the_layout_is_recognised_by_its_graph_and_its_width_read(models: Path) -> None:
    weights = layout.read(models / "inswapper_128.onnx")
    assert weights.widths == NARROW
    assert len(weights.style_convs) == 12 and len(weights.style_gemms) == 12
    assert weights.style_gemms[0][0].shape == (2 * NARROW[-1], 512) and weights.emap.shape == (512, 512)


def test_other_files_are_refused_with_what_was_expected_and_found(models: Path, tmp_path: Path) -> None:
    with pytest.raises(
        ModelLoadError, match="this is an ArcFace recognition model .* not inswapper's swapper"
    ):
        layout.read(models / "w600k_r50.onnx")
    with pytest.raises(ModelLoadError, match=r"this is a face swapper \(two inputs\), not an ArcFace"):
        ArcFace(models / "inswapper_128.onnx")
    truncated = tmp_path / "inswapper_128.onnx"
    truncated.write_bytes((models / "inswapper_128.onnx").read_bytes()[:50_000])
    with pytest.raises(ModelLoadError, match="not a readable ONNX file .*truncated"):
        layout.read(truncated)
    other = tmp_path / "other.onnx"  # one style convolution short
    weights = layout.read(models / "inswapper_128.onnx")
    weights.style_convs, weights.style_gemms = weights.style_convs[:10], weights.style_gemms[:10]
    graph.save(graph.build(weights, source_path=True), other)
    with pytest.raises(ModelLoadError, match="not inswapper-128's layout: expected .* found 18 convolutions"):
        layout.read(other)


def test_eager_matches_onnxruntime_on_the_same_file(models: Path) -> None:
    weights = layout.read(models / "inswapper_128.onnx")
    target, source = torch.rand(2, 3, 128, 128), _source()
    with torch.inference_mode():
        eager = InswapperGenerator(weights).eval()(target, styles(source, weights.style_gemms))
    onnx_file = OnnxRuntimeRunner(models / "inswapper_128.onnx", torch.device("cpu"))(target, source)
    assert (eager - onnx_file).abs().max() <= 1e-4
    assert eager.std() > 0.05  # a real picture, not a constant


def test_the_target_path_onnx_that_tensorrt_builds_from_matches_pytorch(models: Path, tmp_path: Path) -> None:
    weights = layout.read(models / "inswapper_128.onnx")
    path = tmp_path / "target-path.onnx"
    graph.save(graph.build(weights, source_path=False), path)
    target, style = torch.rand(3, 3, 128, 128), styles(_source(1), weights.style_gemms)
    with torch.inference_mode():
        eager = InswapperGenerator(weights).eval()(target, style)
    runner = OnnxRuntimeRunner(path, torch.device("cpu"))
    assert not runner.per_item  # a batch axis, as TensorRT's optimisation profile needs
    assert (runner(target, style) - eager).abs().max() <= 1e-4


def test_inductor_matches_eager(models: Path) -> None:
    from rtswap.runtime.eager import EagerRunner
    from rtswap.runtime.inductor import InductorRunner

    weights = layout.read(models / "inswapper_128.onnx")
    style = styles(_source(2), weights.style_gemms)
    target = torch.rand(1, 3, 128, 128)
    cpu = torch.device("cpu")
    eager = EagerRunner(InswapperGenerator(weights), cpu)(target, style)
    compiled = InductorRunner(InswapperGenerator(weights), (target, style), cpu)
    assert (compiled(target, style) - eager).abs().max() <= 1e-4


@pytest.mark.skipif(
    pytest.importorskip("importlib.util").find_spec("tensorrt") is None or not torch.cuda.is_available(),
    reason="needs TensorRT and CUDA",
)
@pytest.mark.gpu
def test_tensorrt_matches_eager(models: Path) -> None:
    device = torch.device("cuda")
    eager = create_engine(EngineSettings("inswapper", models_dir=models, backend="eager"))
    trt = create_engine(EngineSettings("inswapper", device, backend="tensorrt", models_dir=models))
    assert trt.backend == "tensorrt"
    crops = torch.rand(2, 3, 128, 128)
    faces = FaceBatch(torch.zeros(2, 478, 2), torch.zeros(2, 478), [(0.0, 0.0)] * 2)
    expected = eager.swap(crops, faces, eager.load(_prepared()))[0]
    faces_on_device = FaceBatch(faces.landmarks.to(device), faces.depth.to(device), faces.poses)
    swapped = trt.swap(crops.to(device), faces_on_device, trt.load(_prepared()))[0]
    assert (swapped.cpu() - expected).abs().max() <= 1e-3


def _prepared() -> dict[str, torch.Tensor]:
    """Identity artifacts of the replica's shapes, without a source face: γ near 1, β near 0."""
    width = NARROW[-1]
    scale_shift = torch.cat([torch.ones(12, width), torch.zeros(12, width)], dim=1)
    noise = 0.1 * torch.randn(12, 2 * width, generator=torch.Generator().manual_seed(3))
    return {"embeddings": torch.randn(1, 512), "latent": _source(3), "styles": scale_shift + noise}


def test_boost_splits_into_interleaved_subgrids_and_back_exactly() -> None:
    crops = torch.rand(2, 3, 256, 256)
    grids = split_subgrids(crops, 2)
    assert grids.shape == (8, 3, 128, 128)
    assert torch.equal(grids[1], crops[0, :, 0::2, 1::2]) and torch.equal(grids[6], crops[1, :, 1::2, 0::2])
    assert torch.equal(merge_subgrids(grids, 2), crops)
    larger = torch.rand(1, 3, 384, 384)
    assert torch.equal(merge_subgrids(split_subgrids(larger, 3), 3), larger)


def test_boost_through_the_engine_gives_back_the_input_of_a_model_that_returns_it(models: Path) -> None:
    engine = InswapperEngine.open(EngineSettings("inswapper", models_dir=models, backend="eager"), boost=2)
    assert engine.template.size == 256

    class ReturnsInput:
        name = "identity"

        def __call__(self, batch: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
            assert batch.shape == (4, 3, 128, 128)
            return batch

        def warmup(self, batch_sizes: object) -> None: ...

    engine._runner = ReturnsInput()  # type: ignore[assignment]  # a stand-in runner that returns its input
    crops = torch.rand(1, 3, 256, 256)
    identity = engine.load(_prepared())
    swapped, mask = engine.swap(
        crops, FaceBatch(torch.zeros(1, 478, 2), torch.zeros(1, 478), [(0.0, 0.0)]), identity
    )
    assert torch.equal(swapped, crops) and mask.shape == (1, 1, 256, 256)


@pytest.fixture(scope="module")
def analyzer() -> Iterator[FaceAnalyzer]:
    with FaceAnalyzer() as a:
        yield a


def test_the_source_is_prepared_once_then_loaded_without_computing_an_embedding(
    models: Path, tmp_path: Path, analyzer: FaceAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    collected = count_collects(monkeypatch)
    cache = IdentityCache(tmp_path / "cache")
    settings = EngineSettings("inswapper", models_dir=models, backend="eager")
    first = cast(
        InswapperIdentity,
        IdentityStore(cache, create_engine(settings), lambda: analyzer, False).source(grace_hopper_path()),
    )
    again = create_engine(settings)
    second = cast(
        InswapperIdentity, IdentityStore(cache, again, lambda: analyzer, False).source(grace_hopper_path())
    )
    assert collected == [1]
    assert "arcface" not in vars(again)  # the second start never loaded the recognition model
    assert torch.equal(first.styles, second.styles) and first.styles.shape == (12, 2 * NARROW[-1])
    assert torch.allclose(first.latent.norm(), torch.tensor(1.0))

    changed = tmp_path / "changed"  # another checkpoint of the same layout: artifacts rebuilt
    write_models(changed, seed=5)
    rebuilt_engine = create_engine(EngineSettings("inswapper", models_dir=changed, backend="eager"))
    rebuilt = cast(
        InswapperIdentity,
        IdentityStore(cache, rebuilt_engine, lambda: analyzer, False).source(grace_hopper_path()),
    )
    assert collected == [1, 1] and not torch.allclose(rebuilt.styles, first.styles)


def test_arcface_normalisation_baked_into_the_graph_is_detected(tmp_path: Path) -> None:
    plain = ArcFace(write_arcface(tmp_path / "plain.onnx"))
    assert not plain.raw_pixels
    model = onnx_io.load(tmp_path / "plain.onnx")
    from onnx import helper, numpy_helper

    first = model.graph.node[0]
    model.graph.initializer.extend(
        [
            numpy_helper.from_array(np.array(127.5, np.float32), "m"),
            numpy_helper.from_array(np.array(1 / 127.5, np.float32), "s"),
        ]
    )
    baked = [
        helper.make_node("Sub", ["input.1", "m"], ["sub"]),
        helper.make_node("Mul", ["sub", "s"], ["mul"]),
    ]
    first.input[0] = "mul"
    nodes = [*baked, *model.graph.node]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    (tmp_path / "baked.onnx").write_bytes(model.SerializeToString())
    baked_model = ArcFace(tmp_path / "baked.onnx")
    assert baked_model.raw_pixels
    faces = torch.rand(1, 3, 112, 112)
    assert torch.allclose(baked_model.embed(faces, TEMPLATE), plain.embed(faces, TEMPLATE), atol=1e-4)


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err  # one clear line, no traceback
    return err[0]


def test_engines_add_list_and_build(
    models: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rtswap.cli import main

    monkeypatch.setenv("RTSWAP_MODELS", str(tmp_path / "models"))
    assert main(["engines", "list"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"inswapper\s+inswapper_128\.onnx\s+missing", listing)
    assert re.search(r"\n\s+w600k_r50\.onnx\s+missing", listing)
    assert f"models folder: {tmp_path / 'models'}" in listing

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    for name in ("inswapper_128.onnx", "w600k_r50.onnx"):  # named as a browser might save them
        (downloads / f"copy of {name}").write_bytes((models / name).read_bytes())
    added = [str(downloads / "copy of w600k_r50.onnx"), str(downloads / "copy of inswapper_128.onnx")]
    assert main(["engines", "add", *added]) == 0
    out = capsys.readouterr().out
    assert "inswapper identity, unverified" in out and "inswapper swapper, unverified" in out
    assert (tmp_path / "models" / "inswapper_128.onnx").read_bytes() == (
        models / "inswapper_128.onnx"
    ).read_bytes()

    assert main(["engines", "list"]) == 0
    listing = capsys.readouterr().out
    assert re.search(r"inswapper\s+inswapper_128\.onnx\s+unverified\s+eager, inductor, onnxruntime", listing)

    junk = tmp_path / "notes.onnx"
    junk.write_bytes(b"not a model at all")
    assert main(["engines", "add", str(junk)]) == 1
    assert "not a readable ONNX file" in _one_error_line(capsys)

    assert main(["-q", "engines", "build", "--backend", "onnxruntime"]) == 0
    assert "nothing to compile ahead of time" in capsys.readouterr().out


def test_a_missing_model_file_says_where_it_looked_and_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rtswap.cli import main

    empty = tmp_path / "empty"
    argv = [
        "-q",
        "swap",
        "--engine",
        "inswapper",
        "--models",
        str(empty),
        "--source",
        str(grace_hopper_path()),
    ]
    assert main([*argv, str(grace_hopper_path()), str(tmp_path / "out.png")]) == 1
    line = _one_error_line(capsys)
    assert f"inswapper needs inswapper_128.onnx and w600k_r50.onnx, not found in {empty}" in line
    assert "rtswap engines add" in line
    assert not (tmp_path / "out.png").exists()


def test_swap_with_inswapper_changes_the_face_and_nothing_outside_it(
    models: Path, tmp_path: Path, astro: np.ndarray, analyzer: FaceAnalyzer, caplog: pytest.LogCaptureFixture
) -> None:

    from rtswap.cli import main
    from rtswap.media.image import read_image, write_image

    write_image(tmp_path / "astro.png", astro)
    argv = [
        "swap",
        "--no-label",
        "--engine",
        "inswapper",
        "--models",
        str(models),
        "--source",
        str(grace_hopper_path()),
    ]
    assert main([*argv, str(tmp_path / "astro.png"), str(tmp_path / "out.png")]) == 0
    assert "unverified checkpoint" in caplog.text
    out = read_image(tmp_path / "out.png")
    inside, outside = face_change(astro, out, analyzer.analyze(astro)[0])
    assert inside > 0.5 and outside == 0  # the face is the generator's; the rest keeps its exact bytes


def test_live_with_a_neural_engine_on_the_cpu_says_what_to_expect(
    models: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from rtswap.cli import main

    argv = ["live", "--engine", "inswapper", "--models", str(models), "--source", str(grace_hopper_path())]
    argv += ["--input", "synthetic", "--resolution", "320x240", "--output", "null", "--seconds", "1"]
    assert main(argv) == 0
    assert "inswapper on the CPU takes a second or more per face" in caplog.text
