"""Mask models (``--mask occlusion``, ``--mask region``) on replicas with the cards' I/O: what an
occluder model marks hidden and what a face parser labels glasses keep the target's pixels, the
rest of the face is swapped; a model that sees none of a face is set aside for it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.frame import Face
from rtswap.geometry.landmarks import LEFT_IRIS, RIGHT_IRIS
from rtswap.swapper import Swapper
from rtswap.testing.occluders import with_sunglasses
from rtswap.testing.replicas import write_occluder, write_parser
from tests.conftest import face_hull

THIRD = 1 / 3


def _swap(
    source: np.ndarray, target: np.ndarray, folder: Path, masks: tuple[str, ...], **config: object
) -> np.ndarray:
    settings = SwapConfig(device="cpu", models_dir=folder, masks=masks, **config)  # type: ignore[arg-type]
    with Swapper(source, settings, progress=False) as swapper:
        return swapper.swap_image(target)


def _change_by_side(before: np.ndarray, after: np.ndarray, face: Face) -> tuple[float, float]:
    """Mean change (levels) in the face's image-left third and its image-right third."""
    hull = face_hull(face, before.shape)
    xs = np.nonzero(hull)[1]
    left, right = np.percentile(xs, [100 * THIRD, 100 * (1 - THIRD)])
    columns = np.arange(before.shape[1])[None, :]
    change = np.abs(after.astype(int) - before).max(axis=-1)
    return float(change[hull & (columns < left)].mean()), float(change[hull & (columns > right)].mean())


def test_what_an_occluder_model_hides_keeps_the_targets_pixels(
    grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    visible = np.ones((256, 256), np.float32)
    visible[:, :128] = 0  # the crop's left half is hidden
    write_occluder(tmp_path / "xseg_1.onnx", visible)
    face = analyzer.analyze(astro)[0]
    hidden, seen = _change_by_side(astro, _swap(grace, astro, tmp_path, ("skin", "occlusion")), face)
    assert hidden < 2 and seen > 10, (hidden, seen)


def test_several_occluder_models_hide_what_any_of_them_hides(
    grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    left, right = np.ones((256, 256), np.float32), np.ones((256, 256), np.float32)
    left[:, :128], right[:, 128:] = 0, 0
    write_occluder(tmp_path / "xseg_1.onnx", left)
    write_occluder(tmp_path / "xseg_2.onnx", right)
    out = _swap(grace, astro, tmp_path, ("occlusion",))
    face = analyzer.analyze(astro)[0]
    assert max(_change_by_side(astro, out, face)) < 2  # all of it hidden by one or the other


def test_a_parsers_glasses_stay_on_top_and_its_skin_is_swapped(
    grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    labels = np.ones((512, 512), np.int64)  # skin
    labels[:, :256] = 6  # glasses over the crop's left half
    write_parser(tmp_path / "bisenet_resnet_34.onnx", labels)
    face = analyzer.analyze(astro)[0]
    # (the eyes not among the regions: those behind clear glasses are swapped as eyes, below)
    out = _swap(grace, astro, tmp_path, ("region",), mask_regions=("skin", "brows", "nose", "mouth", "lips"))
    kept, swapped = _change_by_side(astro, out, face)
    assert kept < 2 and swapped > 10, (kept, swapped)


@pytest.mark.parametrize("lenses", ["clear", "dark"])
def test_the_eyes_behind_a_parsers_glasses_are_swapped_when_they_show_through(
    lenses: str, grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """Parsers label a pair of glasses whole, lenses and all: Grace Hopper's eyes, behind her clear
    lenses, are swapped with the eyes; behind dark glasses (drawn on her) they are hidden, and
    the glasses stay whole."""
    labels = np.ones((512, 512), np.int64)
    labels[96:180] = 6  # glasses across her brows and eyes
    write_parser(tmp_path / "bisenet_resnet_18.onnx", labels)
    target = grace if lenses == "clear" else with_sunglasses(grace, analyzer.analyze(grace)[0].landmarks)
    irises = analyzer.analyze(grace)[0].landmarks[[LEFT_IRIS, RIGHT_IRIS], :2].round().astype(int)
    out = _swap(astro, target, tmp_path, ("region",))
    change = [
        float(
            np.abs(
                out[y - 2 : y + 3, x - 2 : x + 3].astype(int) - target[y - 2 : y + 3, x - 2 : x + 3]
            ).mean()
        )
        for x, y in irises
    ]
    if lenses == "clear":
        assert min(change) > 5, change  # (8.7 and 12.5; 0 when a parser's glasses kept them)
    else:
        assert max(change) < 1, change


def test_a_model_that_sees_none_of_a_face_is_set_aside_for_it(
    grace: np.ndarray,
    astro: np.ndarray,
    analyzer: FaceAnalyzer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Occluder models can take a whole profile for an occlusion: the swap would vanish. The face
    keeps its landmark mask instead, and the log says so once."""
    write_occluder(tmp_path / "xseg_3.onnx", np.zeros((256, 256), np.float32))
    face = analyzer.analyze(astro)[0]
    with caplog.at_level(logging.INFO, logger="rtswap"):
        out = _swap(grace, astro, tmp_path, ("skin", "occlusion"))
    assert min(_change_by_side(astro, out, face)) > 10  # swapped all the same (14.7, 17.1)
    said = [r.message for r in caplog.records if "sees almost none of a face" in r.message]
    assert said == ["xseg_3 sees almost none of a face: that face keeps its landmark mask"]


def test_box_is_refused_with_warp_which_draws_only_the_face(grace: np.ndarray, tmp_path: Path) -> None:
    from rtswap.errors import InputError

    with pytest.raises(InputError, match="--mask box needs an engine that draws the whole aligned crop"):
        _swap(grace, grace, tmp_path, ("box", "skin"))


def test_box_pastes_a_neural_engines_whole_crop(
    grace: np.ndarray, astro: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """With an engine that draws the whole aligned crop, ``box`` takes all of it (feathered at its
    edges) instead of the face mesh's outline: pixels beside the face change too."""
    from rtswap.testing.replicas import card, write_models, write_swapper

    folder = write_models(tmp_path / "models")
    write_swapper(folder / "plain.onnx", mask=False)
    (folder / "plain.toml").write_text(card("onnx:plain", "plain.onnx", mask=False))
    face = analyzer.analyze(astro)[0]
    beside = face_hull(face, astro.shape, grow=0.15) & ~face_hull(face, astro.shape, grow=0.05)
    changes = []
    for masks in (("skin",), ("box",)):
        config = SwapConfig(device="cpu", engine=str(folder / "plain.toml"), models_dir=folder, masks=masks)
        with Swapper(grace, config, progress=False) as swapper:
            out = swapper.swap_image(astro)
        changes.append(float(np.abs(out.astype(int) - astro).max(axis=-1)[beside].mean()))
    outline, box = changes
    assert outline < 2 and box > 10, changes


@pytest.mark.parametrize("label", ["glasses", "hair"])
def test_a_parsers_glasses_and_hair_on_the_source_stay_out_of_its_texture(
    label: str, grace: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """With a face parser, what it sees on the source as glasses or hair is left out of the warp
    texture (its validity there is 0), but for the eyes behind glasses: parsers label a pair
    whole, lenses and all, and an eye seen through a lens is the source's own. A cached
    preparation made without the parser is not reused."""
    import torch

    from rtswap.blend.face_mask import eyes_mask
    from rtswap.engines.warp.engine import WarpEngine, WarpIdentity
    from rtswap.identity.store import prepare_source
    from rtswap.media.image import write_image
    from rtswap.plugins.masks.mask_model import open_masks, source_covers

    labels = np.ones((512, 512), np.int64)
    labels[96:180] = {"glasses": 6, "hair": 17}[label]  # across the brows and the eyes
    write_parser(tmp_path / "bisenet_resnet_18.onnx", labels)
    covers = source_covers(open_masks(("region",), ("skin",), torch.device("cpu"), models_dir=tmp_path))
    engine = WarpEngine()
    source, cache = tmp_path / "grace.png", tmp_path / "cache"
    write_image(source, grace)
    plain = prepare_source(source, engine, lambda: analyzer, cache, progress=False)
    parsed = prepare_source(source, engine, lambda: analyzer, cache, progress=False, covers=covers)
    assert isinstance(plain, WarpIdentity) and isinstance(parsed, WarpIdentity)
    band = torch.zeros(256, 256, dtype=torch.bool)
    band[96 * 256 // 512 + 2 : 180 * 256 // 512 - 2] = True
    # where the glasses are not lenses over the eyes (with a margin: the texture's other side, the
    # eyes' regions mirrored, fills in beside them)
    near_eyes = torch.nn.functional.max_pool2d(eyes_mask(plain.landmarks[:1], 256), 9, 1, 4)[0, 0]
    frames = band & (near_eyes == 0) & (plain.textures[0, 3] > 0.9)  # the source's brows and skin
    assert int(frames.sum()) > 800
    assert float(parsed.textures[0, 3][frames].max()) < 0.05  # left out
    irises = plain.landmarks[0, [468, 473]].round().long()
    seen = parsed.textures[0, 3, irises[:, 1], irises[:, 0]]
    if label == "glasses":  # its own eyes, behind the lenses
        assert torch.equal(seen, plain.textures[0, 3, irises[:, 1], irises[:, 0]]) and bool(
            (seen > 0.9).all()
        )
    else:  # a fringe over the eyes is no lens
        assert float(seen.max()) < 0.05
