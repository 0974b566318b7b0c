"""Generic ONNX swappers run from a model card: the I/O check, both card styles (with and without
a mask output, with an embedding converter), parity with the native inswapper, and a whole swap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import create_engine
from rtswap.engines.base import AlignedView, EngineSettings, FaceBatch
from rtswap.errors import InputError, ModelLoadError
from rtswap.identity import views
from rtswap.media.image import read_image, write_image
from rtswap.media.samples import grace_hopper_path
from rtswap.testing.replicas import card, write_converter, write_models, write_swapper
from tests.conftest import face_change


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = write_models(tmp_path_factory.mktemp("models"))
    write_swapper(folder / "masked.onnx", mask=True)
    write_swapper(folder / "plain.onnx", mask=False, seed=1)
    write_converter(folder / "arcface_converter_simswap.onnx")
    (folder / "masked.toml").write_text(card("onnx:masked", "masked.onnx", mask=True))
    (folder / "plain.toml").write_text(
        card("onnx:plain", "plain.onnx", mask=False, converter="arcface_converter_simswap.onnx")
    )
    return folder


@pytest.fixture(scope="module")
def faces(models: Path, astro: np.ndarray) -> tuple[AlignedView, AlignedView]:
    """The source (Grace Hopper) and the target (the astronaut), aligned for the 64 px cards."""
    engine = create_engine(EngineSettings(str(models / "masked.toml"), models_dir=models))
    with FaceAnalyzer() as analyzer:
        source = views.view_of(read_image(grace_hopper_path()), analyzer, engine.template, engine.device)
        target = views.view_of(astro, analyzer, engine.template, engine.device)
    assert source is not None and target is not None
    return source, target


def test_the_generic_path_gives_the_native_inswappers_crops(models: Path, astro: np.ndarray) -> None:
    native = create_engine(EngineSettings("inswapper", models_dir=models, backend="eager"))
    generic = create_engine(EngineSettings("onnx:inswapper_128", models_dir=models))
    assert generic.backend == "onnxruntime"
    assert np.array_equal(native.template.points, generic.template.points)
    with FaceAnalyzer() as analyzer:
        source = views.view_of(read_image(grace_hopper_path()), analyzer, native.template, native.device)
        target = views.view_of(astro, analyzer, native.template, native.device)
    assert source is not None and target is not None
    batch = FaceBatch(
        torch.as_tensor(target.landmarks, dtype=torch.float32)[None], torch.zeros(1, 478), [(0.0, 0.0)]
    )
    ours = native.swap(target.crop, batch, native.load(native.prepare([source])))
    theirs = generic.swap(target.crop, batch, generic.load(generic.prepare([source])))
    assert (ours[0] - theirs[0]).abs().max() <= 1e-4 and torch.equal(ours[1], theirs[1])


def test_a_mask_output_narrows_the_mask_and_a_converter_changes_the_embedding(
    models: Path, faces: tuple[AlignedView, AlignedView]
) -> None:
    source, target = faces
    batch = FaceBatch(
        torch.as_tensor(target.landmarks, dtype=torch.float32)[None], torch.zeros(1, 478), [(0.0, 0.0)]
    )
    masked = create_engine(EngineSettings(str(models / "masked.toml"), models_dir=models))
    plain = create_engine(EngineSettings(str(models / "plain.toml"), models_dir=models))
    swapped, mask = masked.swap(target.crop, batch, masked.load(masked.prepare([source])))
    _, mesh_only = plain.swap(target.crop, batch, plain.load(plain.prepare([source])))
    assert swapped.shape == (1, 3, 64, 64) and 0.0 <= float(swapped.min()) and float(swapped.max()) <= 1.0
    assert torch.all(mask <= mesh_only + 1e-6) and float((mesh_only - mask).max()) > 0.05
    converted = plain.prepare([source])["source"]
    direct = masked.prepare([source])["source"]
    assert torch.allclose(converted.norm(), torch.tensor(1.0)) and not torch.allclose(
        converted, direct, atol=1e-3
    )


def test_a_file_that_does_not_match_its_card_is_refused_in_one_line(models: Path, tmp_path: Path) -> None:
    write_swapper(models / "renamed.onnx", target="img")
    (tmp_path / "renamed.toml").write_text(card("onnx:renamed", "renamed.onnx"))
    with pytest.raises(ModelLoadError, match=r"does not match its card \(onnx:renamed\): no input 'target'"):
        create_engine(EngineSettings(str(tmp_path / "renamed.toml"), models_dir=models))
    with pytest.raises(InputError, match="--backend onnxruntime or tensorrt"):
        create_engine(EngineSettings(str(models / "masked.toml"), models_dir=models, backend="eager"))
    with pytest.raises(
        InputError, match="unknown engine 'onnx:nothing'; available: warp, inswapper, simswap, megafs, onnx:"
    ):
        create_engine(EngineSettings("onnx:nothing", models_dir=models))


def test_swap_with_a_card_changes_the_face_and_nothing_outside_it(
    models: Path, tmp_path: Path, astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    from rtswap.cli import main

    write_image(tmp_path / "astro.png", astro)
    argv = ["-q", "swap", "--no-label", "--engine", str(models / "masked.toml"), "--models", str(models)]
    argv += ["--source", str(grace_hopper_path()), str(tmp_path / "astro.png"), str(tmp_path / "out.png")]
    assert main(argv) == 0
    out = read_image(tmp_path / "out.png")
    inside, outside = face_change(astro, out, analyzer.analyze(astro)[0])
    assert inside > 0.3 and outside == 0
