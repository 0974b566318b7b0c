"""Face restorers (``--enhancer``) on replicas with the cards' I/O: what they change goes into the
face and nowhere else, a restorer that changes nothing leaves the swap as it was, CodeFormer's
fidelity reaches its file, and a file that is not what its card says is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import models
from rtswap.errors import ModelLoadError
from rtswap.swapper import Swapper
from rtswap.testing.replicas import write_restorer
from tests.conftest import face_hull


@pytest.fixture(scope="module")
def plain(grace: np.ndarray, astro: np.ndarray) -> np.ndarray:
    """Grace Hopper on the astronaut, without a restorer."""
    with Swapper(grace, SwapConfig(device="cpu"), progress=False) as swapper:
        return swapper.swap_image(astro)


def _restored(grace: np.ndarray, astro: np.ndarray, folder: Path, name: str, **options: float) -> np.ndarray:
    config = SwapConfig(device="cpu", models_dir=folder, enhancer=name, **options)  # type: ignore[arg-type]
    with Swapper(grace, config, progress=False) as swapper:
        return swapper.swap_image(astro)


def test_a_restorer_that_changes_nothing_leaves_the_swap_as_it_was(
    grace: np.ndarray, astro: np.ndarray, plain: np.ndarray, tmp_path: Path
) -> None:
    write_restorer(tmp_path / "gfpgan_1.4.onnx")
    restored = _restored(grace, astro, tmp_path, "gfpgan_1.4")
    assert np.abs(restored.astype(int) - plain).max() <= 1


def test_what_a_restorer_changes_goes_into_the_face_and_nowhere_else(
    grace: np.ndarray, astro: np.ndarray, plain: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    write_restorer(tmp_path / "gpen_bfr_256.onnx", size=256, pattern=True)
    restored = _restored(grace, astro, tmp_path, "gpen_bfr_256", enhancer_blend=0.5)
    face = analyzer.analyze(astro)[0]
    change = np.abs(restored.astype(int) - plain).max(axis=-1)
    assert change[face_hull(face, astro.shape)].mean() > 12  # the stripes, half strength, in the face (18)
    assert change[~face_hull(face, astro.shape, grow=0.15)].max() <= 1  # nothing outside it


def test_codeformers_fidelity_reaches_its_file(
    grace: np.ndarray, astro: np.ndarray, plain: np.ndarray, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    write_restorer(tmp_path / "codeformer.onnx", weight=True)  # w of the face as it was, 1 - w stripes
    kept = _restored(grace, astro, tmp_path, "codeformer", enhancer_fidelity=1.0)
    restored = _restored(grace, astro, tmp_path, "codeformer", enhancer_fidelity=0.0)
    face = face_hull(analyzer.analyze(astro)[0], astro.shape)
    assert np.abs(kept.astype(int) - plain).max() <= 1
    assert np.abs(restored.astype(int) - plain).max(axis=-1)[face].mean() > 20


def test_a_file_that_is_not_what_its_card_says_is_refused_in_one_line(
    grace: np.ndarray, tmp_path: Path
) -> None:
    write_restorer(tmp_path / "gfpgan_1.4.onnx", size=256)  # gfpgan takes 512 px crops
    with pytest.raises(ModelLoadError, match=r"gfpgan_1\.4\.onnx: does not match its card .*512") as caught:
        _restored(grace, grace, tmp_path, "gfpgan_1.4")
    assert "\n" not in str(caught.value)


def test_a_missing_file_is_named_with_the_command_that_adds_it(grace: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(
        ModelLoadError, match=r"--enhancer codeformer needs codeformer\.onnx.*rtswap engines add"
    ):
        _restored(grace, grace, tmp_path, "codeformer")


def test_engines_add_recognises_a_restorer_and_lists_it(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    status = models.add(write_restorer(tmp_path / "gpen_bfr_512.onnx"), folder)
    assert status.card.role == "restorer" and status.card.engine == "gpen_bfr_512"
    assert status.state == "unverified"  # its layout is the card's; no SHA-256 is published
    listed = models.table(folder, ["onnxruntime"])
    row = next(line for line in listed.splitlines() if line.startswith("--enhancer gpen_bfr_512"))
    assert "unverified" in row and "onnxruntime" in row


def test_on_frames_it_is_not_run_its_last_change_moves_with_the_face(
    grace: np.ndarray, head: SyntheticHead, analyzer: FaceAnalyzer, tmp_path: Path
) -> None:
    """The governor's 'restorer every 2nd frame': between runs, what the restorer changed last in a
    tracked face is applied to its new swap, in the aligned crop, so it follows the face."""
    write_restorer(tmp_path / "gpen_bfr_256.onnx", size=256, pattern=True)
    frames = [head.render(Motion(yaw=yaw)) for yaw in (0.0, 6.0)]
    faces = [analyzer.analyze(frame)[0] for frame in frames]
    for face in faces:
        face.track_id = 3
    config = SwapConfig(device="cpu", models_dir=tmp_path, enhancer="gpen_bfr_256")
    with Swapper(grace, config, progress=False) as swapper:
        face_swap = swapper.face_swap
        assert face_swap.restorer is not None
        runs = len(face_swap.restorer.costs_ms)
        face_swap.swap(torch.from_numpy(frames[0]), [faces[0]], restore="run")
        again = face_swap.swap(torch.from_numpy(frames[1]), [faces[1]], restore="again")
        run = face_swap.swap(torch.from_numpy(frames[1]), [faces[1]], restore="run")
        off = face_swap.swap(torch.from_numpy(frames[1]), [faces[1]], restore="off")
        assert len(face_swap.restorer.costs_ms) == runs + 2  # not run for "again"
    assert again is not None and run is not None and off is not None
    assert (again.swapped - off.swapped).abs().mean() > 0.05  # the stripes are there
    assert (again.swapped - run.swapped).abs().mean() < 0.2 * (run.swapped - off.swapped).abs().mean()


def test_bench_reports_the_restorers_cost_per_face(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rtswap.cli import main

    write_restorer(tmp_path / "gpen_bfr_256.onnx", size=256)
    path = tmp_path / "bench.json"
    args = ["--resolution", "320x240", "--seconds", "1", "--fps", "0", "--json", str(path)]
    assert main(["-q", "bench", "--enhancer", "gpen_bfr_256", "--models", str(tmp_path), *args]) == 0
    assert "gpen_bfr_256 per face" in capsys.readouterr().out
    result = json.loads(path.read_text())
    assert result["enhancer"] == "gpen_bfr_256" and result["enhancer_ms_per_face"]["runs"] > 0


def test_a_restorer_file_that_fits_several_cards_is_placed_by_enhancer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rtswap.cli import main

    exported = write_restorer(tmp_path / "GFPGANv1.4.onnx")  # GFPGAN, GPEN-512, RestoreFormer++ alike
    folder = tmp_path / "models"
    add = ["-q", "engines", "add", "--models", str(folder)]
    assert main([*add, str(exported)]) == 1
    error = capsys.readouterr().err
    assert "fits several model cards" in error and "say which with --enhancer" in error
    assert "converter" not in error  # a 512 px wide image model is no embedding converter
    assert (
        main(["-q", "engines", "add", "--models", str(folder), "--enhancer", "gfpgan_1.4", str(exported)])
        == 0
    )
    assert (folder / "gfpgan_1.4.onnx").is_file()


def test_a_live_pipeline_over_budget_sheds_the_restorer_first(
    grace: np.ndarray, head: SyntheticHead, tmp_path: Path
) -> None:
    """A stage slowed past the budget: the governor's first step is the restorer's, not the swap's."""
    from rtswap.capture.synthetic import SyntheticSource
    from rtswap.capture.synthetic_heads import SyntheticClip
    from rtswap.pipeline import Pipeline, PipelineConfig
    from rtswap.testing.doubles import CollectSink

    write_restorer(tmp_path / "gpen_bfr_256.onnx", size=256)
    config = SwapConfig(device="cpu", models_dir=tmp_path, enhancer="gpen_bfr_256")
    clip = SyntheticClip(width=480, height=360, fps=30, seconds=1.0, head=head)
    with Swapper(grace, config, progress=False) as swapper:
        source = SyntheticSource(clip, paced=True, loop=True)
        slow = CollectSink(delay_s=0.05)  # 20 fps at most: frames dropped whatever the level
        pipeline = Pipeline(
            swapper.face_swap, source, [slow], PipelineConfig(live=True, latency_budget_ms=60)
        )
        pipeline.run(seconds=5.0)
    assert pipeline.governor is not None and pipeline.governor.changes
    assert pipeline.governor.changes[0].level == "restorer every 2nd frame"
