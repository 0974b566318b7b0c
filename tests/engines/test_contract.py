"""Every registered engine through the seam every caller sees, on its replica: prepare a source,
load it, swap a target's crops ((B, 3, S, S) in [0, 1], a (B, 1, S, S) mask in [0, 1]), and in a
whole image change the face and nothing outside it. A new engine folder without a replica here
fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap import engines
from rtswap.cli import main
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.megafs.replica import NARROW as MEGAFS_NARROW
from rtswap.engines.megafs.replica import write_replica as write_megafs
from rtswap.media.samples import grace_hopper_path
from rtswap.swapper import Swapper
from rtswap.testing.replicas import card, write_models, write_simswap, write_swapper
from tests.conftest import face_change


def _warp(folder: Path) -> str:
    return "warp"


def _inswapper(folder: Path) -> str:
    write_models(folder)
    return "inswapper"


def _simswap(folder: Path) -> str:
    write_models(folder)  # its ArcFace: SimSwap's own, converted, or this ONNX export of it
    (folder / "w600k_r50.onnx").rename(folder / "simswap_arcface.onnx")
    downloads = folder / "downloads"
    downloads.mkdir()
    main(
        [
            "-q",
            "engines",
            "add",
            "--models",
            str(folder),
            str(write_simswap(downloads / "latest_net_G.pth", 224)),
        ]
    )
    return "simswap"


def _megafs(folder: Path) -> str:
    downloads = folder / "downloads"
    downloads.mkdir()
    files = [str(path) for path in write_megafs(downloads, MEGAFS_NARROW)]
    assert main(["-q", "engines", "add", "--models", str(folder), *files]) == 0
    return "megafs"


def _onnx(folder: Path) -> str:
    write_models(folder)
    write_swapper(folder / "masked.onnx", mask=True)
    (folder / "masked.toml").write_text(card("onnx:masked", "masked.onnx", mask=True))
    return str(folder / "masked.toml")


REPLICAS: dict[str, Callable[[Path], str]] = {
    "warp": _warp,
    "inswapper": _inswapper,
    "simswap": _simswap,
    "megafs": _megafs,
    "onnx:NAME": _onnx,
}
"""Engine (as the registry names it) -> writes its replica's files into a models folder and
returns the ``--engine`` value that runs them."""


def test_every_registered_engine_has_a_replica() -> None:
    assert sorted(engines.names()) == sorted(REPLICAS)


@pytest.mark.parametrize("name", sorted(REPLICAS))
def test_the_engine_keeps_the_contract(
    name: str, tmp_path: Path, astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    engine = REPLICAS[name](tmp_path)
    config = SwapConfig(engine=engine, device="cpu", backend="auto", models_dir=tmp_path)
    with Swapper(grace_hopper_path(), config, progress=False) as swapper:
        faces = analyzer.analyze(astro)
        with torch.inference_mode():
            work = swapper.face_swap.swap(torch.from_numpy(astro.copy()), faces)
        assert work is not None
        size = work.crops.shape[-1]  # the engine's crop, or smaller for a small face (warp)
        assert work.swapped.shape == (1, 3, size, size) and work.mask.shape == (1, 1, size, size)
        for tensor in (work.swapped, work.mask):  # in [0, 1] but for float rounding
            assert tensor.dtype == torch.float32 and -1e-5 <= tensor.min() and tensor.max() <= 1 + 1e-5
        assert work.mask.mean() > 0.2  # the face, not an empty mask
        out = swapper.swap_image(astro)
    inside, outside = face_change(astro, out, faces[0])
    assert inside > 0.3 and outside == 0
