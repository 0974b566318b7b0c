"""SimSwap on replicas of its official checkpoints: the variant read from the state dict, the
pickled ArcFace refused and converted only when trusted, our ONNX export against PyTorch, a swap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.cli import main
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import create_engine
from rtswap.engines.base import EngineSettings, FaceBatch
from rtswap.engines.simswap.model import generator_from_state_dict
from rtswap.errors import ModelLoadError
from rtswap.identity import views
from rtswap.media.image import read_image, write_image
from rtswap.media.samples import grace_hopper_path
from rtswap.testing.replicas import write_simswap, write_simswap_arcface_pickle
from rtswap.weights.state_dict import read_state_dict
from tests.conftest import face_change


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files as a user downloads them, under SimSwap's own names."""
    folder = tmp_path_factory.mktemp("downloads")
    write_simswap(folder / "latest_net_G.pth", 224)
    write_simswap(folder / "550000_net_G.pth", 512, seed=1)
    write_simswap_arcface_pickle(folder / "arcface_checkpoint.tar")
    return folder


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.fixture(scope="module")
def models(downloads: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    assert main(["-q", "engines", "add", "--models", str(folder), str(downloads / "latest_net_G.pth")]) == 0
    argv = ["-q", "engines", "convert", "--trust-pickle", "--models", str(folder)]
    assert main([*argv, str(downloads / "arcface_checkpoint.tar")]) == 0
    return folder


def test_the_variant_is_read_from_the_state_dict(
    downloads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator_from_state_dict(read_state_dict(downloads / "latest_net_G.pth")).size == 224
    assert generator_from_state_dict(read_state_dict(downloads / "550000_net_G.pth")).size == 512
    files = [str(downloads / "latest_net_G.pth"), str(downloads / "550000_net_G.pth")]
    assert main(["engines", "add", "--models", str(tmp_path), *files]) == 0
    out = capsys.readouterr().out
    assert "simswap_224.pth (simswap swapper" in out and "simswap_512.pth (simswap swapper" in out


def test_the_pickled_arcface_is_refused_unless_trusted(
    downloads: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pickled = str(downloads / "arcface_checkpoint.tar")
    assert main(["engines", "add", "--models", str(tmp_path), pickled]) == 1
    line = _error(capsys)
    assert "pickled whole model, and loading it would run code" in line and "--trust-pickle" in line
    assert main(["engines", "convert", "--models", str(tmp_path), pickled]) == 1
    assert "rtswap engines convert --trust-pickle" in _error(capsys)
    assert main(["engines", "convert", "--models", str(tmp_path), str(tmp_path / "typo.tar")]) == 1
    assert _error(capsys).endswith("typo.tar: no such file")  # not advice to trust a file that is not there
    assert not list(tmp_path.iterdir())
    with pytest.raises(ModelLoadError, match="pickled whole model"):
        read_state_dict(downloads / "arcface_checkpoint.tar")
    assert main(["engines", "convert", "--trust-pickle", "--models", str(tmp_path), pickled]) == 0
    weights = read_state_dict(tmp_path / "simswap_arcface.safetensors")  # now plain tensors
    assert "layer1.0.se.fc.0.weight" in weights and weights["fc.weight"].shape[0] == 512


def test_our_onnx_export_matches_pytorch(models: Path, astro: np.ndarray) -> None:
    eager = create_engine(EngineSettings("simswap", models_dir=models, backend="eager"))
    exported = create_engine(EngineSettings("simswap", models_dir=models, backend="onnxruntime"))
    assert eager.template.size == 224
    with FaceAnalyzer() as analyzer:
        source = views.view_of(read_image(grace_hopper_path()), analyzer, eager.template, eager.device)
        target = views.view_of(astro, analyzer, eager.template, eager.device)
    assert source is not None and target is not None
    identity = eager.load(eager.prepare([source]))
    assert identity.styles.shape == (18, 2 * 64)  # 9 blocks x 2 style layers, [γ | β] of 64 channels
    batch = FaceBatch(
        torch.as_tensor(target.landmarks, dtype=torch.float32)[None], torch.zeros(1, 478), [(0.0, 0.0)]
    )
    ours, _ = eager.swap(target.crop, batch, identity)
    theirs, _ = exported.swap(target.crop, batch, exported.load(eager.prepare([source])))
    assert (ours - theirs).abs().max() <= 1e-4 and ours.std() > 0.02


def test_swap_with_simswap_changes_the_face_and_nothing_outside_it(
    models: Path, tmp_path: Path, astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    write_image(tmp_path / "astro.png", astro)
    argv = ["-q", "swap", "--no-label", "--engine", "simswap", "--models", str(models)]
    assert (
        main(
            [
                *argv,
                "--source",
                str(grace_hopper_path()),
                str(tmp_path / "astro.png"),
                str(tmp_path / "o.png"),
            ]
        )
        == 0
    )
    out = read_image(tmp_path / "o.png")
    inside, outside = face_change(astro, out, analyzer.analyze(astro)[0])
    assert inside > 0.3 and outside == 0


def test_preparing_a_source_never_moves_the_running_generator(
    models: Path, analyzer: FaceAnalyzer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The runner holds the generator on its device and dtype (a CUDA session swapping while
    another uploads a source): preparing computes the styles where it is, and moves nothing."""
    engine = create_engine(EngineSettings("simswap", models_dir=models, backend="eager"))
    view = views.view_of(read_image(grace_hopper_path()), analyzer, engine.template, engine.device)
    assert view is not None
    generator = engine._generator  # type: ignore[attr-defined]  # the engine's own module
    moved: list[object] = []
    monkeypatch.setattr(type(generator), "to", lambda self, *args, **kwargs: moved.append(args))
    styles = engine.prepare([view])["styles"]
    assert moved == [] and styles.device.type == "cpu" and styles.dtype == torch.float32


class _Exec:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, ("open(__import__('os').environ['PWNED'], 'w').close()",)


class _System:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, ('touch "$PWNED"',)


@pytest.mark.parametrize("payload", [_Exec, _System], ids=["builtins.exec", "os.system"])
def test_trusting_a_pickle_lets_through_only_a_networks_parts(
    payload: type, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--trust-pickle runs what SimSwap's ArcFace needs (PyTorch's modules, tensors, containers),
    not whatever a file names: a pickle that would run code is refused, and runs nothing."""
    pwned = tmp_path / "pwned"
    monkeypatch.setenv("PWNED", str(pwned))
    torch.save({"model": payload()}, tmp_path / "arcface_checkpoint.tar")
    argv = ["engines", "convert", "--trust-pickle", "--models", str(tmp_path / "models")]
    assert main([*argv, str(tmp_path / "arcface_checkpoint.tar")]) == 1
    assert "arcface_checkpoint.tar" in _error(capsys) and not pwned.exists()
