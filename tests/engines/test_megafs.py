"""MegaFS on narrow, low-resolution replicas of its published checkpoints: the files recognised,
the W++ cache, the face transfer module's mix, StyleGAN2 stopped early, eager against ONNX, a swap."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch

from rtswap.cli import main
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import create_engine
from rtswap.engines import models as model_files
from rtswap.engines.base import EngineSettings, FaceBatch
from rtswap.engines.megafs.engine import MegaFSIdentity
from rtswap.engines.megafs.model import FaceTransferModule
from rtswap.engines.megafs.replica import NARROW, Widths, random_networks, write_replica
from rtswap.engines.megafs.stylegan2 import blur_kernel, upfirdn2d
from rtswap.errors import ModelLoadError
from rtswap.identity import views
from rtswap.identity.cache import IdentityCache
from rtswap.identity.store import IdentityStore
from rtswap.media.image import read_image, write_image
from rtswap.media.samples import grace_hopper_path
from tests.conftest import face_change


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two files downloaded under MegaFS's own names, then added as a user adds them."""
    downloads = tmp_path_factory.mktemp("downloads")
    networks, generator = write_replica(downloads, NARROW)
    networks = networks.rename(downloads / "ftm_final.pth")
    generator = generator.rename(downloads / "stylegan2-ffhq-config-f.pth")
    folder = tmp_path_factory.mktemp("models")
    assert main(["-q", "engines", "add", "--models", str(folder), str(networks), str(generator)]) == 0
    return folder


def _settings(models: Path) -> EngineSettings:
    return EngineSettings("megafs", models_dir=models, backend="eager")


def test_the_files_are_recognised_by_their_layout(models: Path, tmp_path: Path) -> None:
    assert sorted(p.name for p in models.glob("*.pth")) == ["megafs_ftm.pth", "megafs_stylegan2.pth"]
    for name, role in (("megafs_ftm.pth", "swapper"), ("megafs_stylegan2.pth", "generator")):
        card, known = model_files.identify(models / name)
        assert (card.engine, card.role, known) == ("megafs", role, False)
    torch.save({"e": {"fpn.backbone.conv1.weight": torch.zeros(8, 3, 7, 7)}}, tmp_path / "other.pth")
    with pytest.raises(ModelLoadError, match="not a model file rtswap can use"):
        model_files.identify(tmp_path / "other.pth")


def test_files_that_do_not_belong_together_are_one_line(models: Path, tmp_path: Path) -> None:
    wider = Widths(8, 48, 16, (4, 4, 4), (48, 48, 48, 16, 8, 8), blocks=(1, 1, 1, 1, 1))
    write_replica(tmp_path, wider)
    (tmp_path / "megafs_stylegan2.pth").write_bytes((models / "megafs_stylegan2.pth").read_bytes())
    with pytest.raises(ModelLoadError, match="do not belong together"):
        create_engine(_settings(tmp_path))


def test_the_w_plus_plus_cache_reloads_exactly_and_follows_the_encoder(
    models: Path, tmp_path: Path, analyzer: FaceAnalyzer, caplog: pytest.LogCaptureFixture
) -> None:
    def prepared(folder: Path) -> tuple[torch.Tensor, torch.Tensor]:
        engine = create_engine(_settings(folder))
        store = IdentityStore(IdentityCache(tmp_path / "cache"), engine, lambda: analyzer)
        identity = cast(MegaFSIdentity, store.source(str(grace_hopper_path())))
        return identity.latents, identity.content

    first, again = prepared(models), prepared(models)
    assert first[0].shape == (1, 12, 32) and first[1].shape == (1, 32, 4, 4)  # one view's W++
    assert torch.equal(first[0], again[0]) and torch.equal(first[1], again[1])
    assert "preparing again" not in caplog.text
    changed = tmp_path / "changed"  # another encoder, the same generator
    changed.mkdir()
    write_replica(changed, NARROW, seed=1)
    (changed / "megafs_stylegan2.pth").write_bytes((models / "megafs_stylegan2.pth").read_bytes())
    assert not torch.equal(prepared(changed)[0], first[0])
    assert "cached preparation not usable" in caplog.text


def test_the_mixing_weight_picks_the_source_or_the_target() -> None:
    """With transfer cells that pass their inputs through (selectors 1, shifters 0), a mixing
    weight at +inf gives the source's high latents and at -inf the target's; the low ones are
    always the target's."""
    ftm = FaceTransferModule(high=6, blocks=3, latent=32, hidden=16)
    with torch.no_grad():
        for name, parameter in ftm.named_parameters():
            if name.endswith(".2.bias") and "selectors" in name:
                parameter.fill_(50.0)  # sigmoid -> 1
            elif name != "weight":
                parameter.zero_()  # selectors' other weights, shifters -> tanh(0) = 0
    source, target = torch.randn(2, 10, 32), torch.randn(2, 10, 32)  # 4 low, 6 high
    for weight, expected_high in ((50.0, source), (-50.0, target)):
        with torch.no_grad():
            ftm.weight.fill_(weight)
            mixed = ftm(source, target)
        torch.testing.assert_close(mixed[:, :4], target[:, :4])
        torch.testing.assert_close(mixed[:, 4:], expected_high[:, 4:])


def test_synthesis_stopped_early_is_that_resolutions_skip_sum() -> None:
    _, _, full = random_networks(NARROW)
    content, latents = torch.randn(2, 32, 4, 4), torch.rand(2, 12, 32) * 2 - 1
    skips: list[torch.Tensor] = []
    for to_rgb in full.to_rgbs:
        to_rgb.register_forward_hook(lambda module, inputs, output: skips.append(output))
    with torch.no_grad():
        image = full(content, latents)
        assert image.shape == (2, 3, 128, 128) and torch.equal(image, skips[-1])
        for resolution, skip in zip((8, 16, 32, 64), skips, strict=False):
            full.resolution = resolution
            torch.testing.assert_close(full(content, latents), skip, rtol=0, atol=1e-6)


def test_upfirdn2d_inserts_zeros_and_the_blur_keeps_a_flat_image_flat() -> None:
    x = torch.arange(4.0).view(1, 1, 2, 2)
    assert torch.equal(
        upfirdn2d(x, torch.ones(1, 1), up=2)[0, 0],
        torch.tensor([[0.0, 0, 1, 0], [0, 0, 0, 0], [2, 0, 3, 0], [0, 0, 0, 0]]),
    )
    flat = upfirdn2d(torch.ones(1, 2, 8, 8), blur_kernel(2), up=2, pad=(2, 1))
    assert flat.shape == (1, 2, 16, 16)
    torch.testing.assert_close(flat[..., 2:-2, 2:-2], torch.ones(1, 2, 12, 12))


@pytest.fixture(scope="module")
def views_pair(models: Path, astro: np.ndarray) -> tuple[views.AlignedView, views.AlignedView]:
    template = create_engine(_settings(models)).template
    with FaceAnalyzer() as analyzer:
        source = views.view_of(read_image(grace_hopper_path()), analyzer, template, torch.device("cpu"))
        target = views.view_of(astro, analyzer, template, torch.device("cpu"))
    assert source is not None and target is not None
    return source, target


def test_our_onnx_export_matches_pytorch(
    models: Path, views_pair: tuple[views.AlignedView, views.AlignedView]
) -> None:
    source, target = views_pair
    eager = create_engine(_settings(models))
    exported = create_engine(EngineSettings("megafs", models_dir=models, backend="onnxruntime"))
    batch = FaceBatch(
        torch.as_tensor(np.stack([target.landmarks] * 2), dtype=torch.float32),
        torch.zeros(2, 478),
        [(0.0, 0.0)] * 2,
    )
    crops = torch.cat([target.crop, target.crop.flip(-1)])  # two faces: the file runs them one by one
    ours, _ = eager.swap(crops, batch, eager.load(eager.prepare([source])))
    theirs, _ = exported.swap(crops, batch, exported.load(eager.prepare([source])))
    assert ours.shape == (2, 3, 128, 128) and ours.std() > 0.02
    assert (ours - theirs).abs().max() <= 1e-4


def test_swap_with_megafs_changes_the_face_and_nothing_outside_it(
    models: Path, tmp_path: Path, astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    write_image(tmp_path / "astro.png", astro)
    argv = ["-q", "swap", "--no-label", "--engine", "megafs", "--models", str(models), "--backend", "eager"]
    source = ["--source", str(grace_hopper_path())]
    assert main([*argv, *source, str(tmp_path / "astro.png"), str(tmp_path / "o.png")]) == 0
    out = read_image(tmp_path / "o.png")
    inside, outside = face_change(astro, out, analyzer.analyze(astro)[0])
    assert inside > 0.3 and outside == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("backend", ["eager", "inductor"])
def test_on_cuda_the_swap_is_the_cpus(
    models: Path, views_pair: tuple[views.AlignedView, views.AlignedView], backend: str
) -> None:
    _same_swap_on_cuda(models, views_pair, backend, tolerance=1e-3)


@pytest.mark.gpu
@pytest.mark.skipif(
    pytest.importorskip("importlib.util").find_spec("tensorrt") is None or not torch.cuda.is_available(),
    reason="needs TensorRT and CUDA",
)
def test_tensorrt_matches_eager(
    models: Path, views_pair: tuple[views.AlignedView, views.AlignedView]
) -> None:
    _same_swap_on_cuda(models, views_pair, "tensorrt", tolerance=1e-3)


def _same_swap_on_cuda(
    models: Path, views_pair: tuple[views.AlignedView, views.AlignedView], backend: str, tolerance: float
) -> None:
    source, target = views_pair
    cpu = create_engine(_settings(models))
    cuda = create_engine(EngineSettings("megafs", torch.device("cuda"), backend=backend, models_dir=models))
    assert cuda.backend == backend
    prepared = cpu.prepare([source])
    landmarks = torch.as_tensor(target.landmarks, dtype=torch.float32)[None]
    expected, _ = cpu.swap(
        target.crop, FaceBatch(landmarks, torch.zeros(1, 478), [(0.0, 0.0)]), cpu.load(prepared)
    )
    on_device = FaceBatch(landmarks.cuda(), torch.zeros(1, 478, device="cuda"), [(0.0, 0.0)])
    swapped, _ = cuda.swap(target.crop.cuda(), on_device, cuda.load(prepared))
    assert (swapped.cpu() - expected).abs().max() <= tolerance


def test_preparing_a_source_never_moves_the_running_network(
    models: Path, views_pair: tuple[views.AlignedView, views.AlignedView], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As SimSwap's: the runner holds the network on its device and dtype; preparing encodes the
    source where it is, and moves nothing."""
    engine = create_engine(_settings(models))
    network = engine.network  # type: ignore[attr-defined]  # the engine's own module
    moved: list[object] = []
    monkeypatch.setattr(type(network), "to", lambda self, *args, **kwargs: moved.append(args))
    latents = engine.prepare([views_pair[0]])["latents"]
    assert moved == [] and latents.device.type == "cpu" and latents.dtype == torch.float32
