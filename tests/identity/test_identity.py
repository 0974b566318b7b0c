import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import SyntheticHead
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.warp import Options as WarpOptions
from rtswap.engines.warp.appearance import AppearanceMap
from rtswap.engines.warp.engine import WarpEngine, WarpIdentity
from rtswap.errors import InputError
from rtswap.identity import views
from rtswap.identity.cache import EngineEntry, IdentityCache, Manifest, StaleEntryError, validate_name
from rtswap.identity.store import IdentityStore
from rtswap.media.image import write_image
from rtswap.media.samples import grace_hopper_path
from tests.conftest import count_collects

VIEWS = np.array([[-30.0, 0.0], [0.0, 0.0], [30.0, 0.0], [0.0, 15.0], [15.0, -10.0]])


def test_pose_weights_sum_to_one_and_never_name_a_corner() -> None:
    amap = AppearanceMap(VIEWS)
    for yaw in np.linspace(-80, 80, 33):
        for pitch in np.linspace(-80, 80, 33):
            pairs = amap.weights(yaw, pitch)
            assert sum(w for _, w in pairs) == pytest.approx(1.0)
            assert all(0 <= v < len(VIEWS) and w > 0 for v, w in pairs) and len(pairs) <= 3


def test_pose_weights_change_continuously_along_a_head_turn() -> None:
    amap = AppearanceMap(VIEWS)
    previous = None
    for yaw in np.linspace(-45, 45, 901):  # 0.1° steps, crossing several triangles
        dense = np.zeros(len(VIEWS))
        for v, w in amap.weights(yaw, 3.0):
            dense[v] = w
        if previous is not None:
            assert np.abs(dense - previous).max() < 0.05  # no jump from one view to another
        previous = dense


def test_a_turned_target_gets_the_view_from_its_side() -> None:
    amap = AppearanceMap(VIEWS)
    right = dict(amap.weights(27.0, 0.0))
    left = dict(amap.weights(-27.0, 0.0))
    assert max(right, key=lambda view: right[view]) == 2 and right[2] > 0.8
    assert max(left, key=lambda view: left[view]) == 0 and left[0] > 0.8
    assert dict(amap.weights(30.0, 0.0)) == pytest.approx({2: 1.0})


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "a b", "..", "a\\b"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InputError, match="invalid identity name"):
        validate_name(name)


def test_manifest_round_trip() -> None:
    entry = EngineEntry(1, "warp-ab.safetensors", "ab" * 32, {"crop_size": 256}, {"views": 3})
    manifest = Manifest(
        "grace", [{"path": "/x/grace.jpg", "sha256": "cd" * 32}], "2026-11-21T06:00:00Z", {"warp": entry}
    )
    assert Manifest.from_json(manifest.to_json()) == manifest
    with pytest.raises(StaleEntryError, match="format"):
        Manifest.from_json(manifest.to_json().replace('"format": 1', '"format": 0'))


def _write(cache: IdentityCache, entry: Path, value: float) -> Manifest:
    manifest = Manifest("t", [], "now")
    cache.write(entry, manifest, "warp", EngineEntry(1, "", ""), {"x": torch.full((4,), value)})
    return manifest


def test_a_crash_mid_write_leaves_the_old_entry_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = IdentityCache(tmp_path)
    entry = cache.entry("t")
    _write(cache, entry, 1.0)
    real_replace = os.replace

    def crash_on_manifest(src: str | Path, dst: str | Path) -> None:
        if str(dst).endswith("manifest.json"):
            raise KeyboardInterrupt  # the process dies after the tensors, before the manifest
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_manifest)
    with pytest.raises(KeyboardInterrupt):
        _write(cache, entry, 2.0)
    monkeypatch.setattr(os, "replace", real_replace)
    manifest = cache.read_manifest(entry)
    assert cache.load_tensors(entry, manifest.engines["warp"])["x"].tolist() == [1.0] * 4


def test_cache_files_are_private(tmp_path: Path) -> None:
    cache = IdentityCache(tmp_path)
    _write(cache, cache.entry("t"), 1.0)
    for path in [cache.entry("t"), *cache.entry("t").iterdir()]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


@pytest.fixture(scope="module")
def store_parts() -> Iterator[tuple[FaceAnalyzer, WarpEngine]]:
    with FaceAnalyzer() as analyzer:
        yield analyzer, WarpEngine(crop_size=128)


def test_a_source_file_is_prepared_once_then_loaded(
    tmp_path: Path, store_parts: tuple[FaceAnalyzer, WarpEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer, engine = store_parts
    calls = count_collects(monkeypatch)
    store = IdentityStore(IdentityCache(tmp_path), engine, lambda: analyzer, progress=False)
    first, second = (cast(WarpIdentity, store.source(grace_hopper_path())) for _ in range(2))
    assert len(calls) == 1
    assert torch.allclose(first.textures, second.textures, atol=1 / 255) and torch.equal(
        first.poses, second.poses
    )


def test_a_corrupt_entry_is_detected_and_rebuilt(
    tmp_path: Path,
    store_parts: tuple[FaceAnalyzer, WarpEngine],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    analyzer, engine = store_parts
    cache = IdentityCache(tmp_path)
    store = IdentityStore(cache, engine, lambda: analyzer, progress=False)
    store.add("grace", [grace_hopper_path()])
    tensors = next(cache.entry("grace").glob("warp-*.safetensors"))
    tensors.write_bytes(tensors.read_bytes()[:-100])  # truncated
    calls = count_collects(monkeypatch)
    store.source("grace")
    assert len(calls) == 1 and "preparing again" in caplog.text and "do not match" in caplog.text
    store.source("grace")
    assert len(calls) == 1  # the rebuilt entry is valid


def test_a_stale_entry_whose_inputs_are_gone_is_refused(
    tmp_path: Path, store_parts: tuple[FaceAnalyzer, WarpEngine], grace: np.ndarray
) -> None:
    analyzer, engine = store_parts
    cache = IdentityCache(tmp_path)
    store = IdentityStore(cache, engine, lambda: analyzer, progress=False)
    source = tmp_path / "face.png"
    write_image(source, grace)
    store.add("temp", [source])
    source.unlink()
    next(cache.entry("temp").glob("warp-*.safetensors")).write_bytes(b"garbage")
    with pytest.raises(InputError, match="cannot be used .* nor rebuilt .*face.png"):
        store.source("temp")


def test_unknown_source_says_what_it_looked_for(
    tmp_path: Path, store_parts: tuple[FaceAnalyzer, WarpEngine]
) -> None:
    analyzer, engine = store_parts
    store = IdentityStore(IdentityCache(tmp_path), engine, lambda: analyzer, progress=False)
    with pytest.raises(InputError, match="no such file, and no stored identity"):
        store.source("nobody")


def test_a_turned_target_takes_its_texture_from_the_view_turned_its_way(
    grace: np.ndarray, head: SyntheticHead, store_parts: tuple[FaceAnalyzer, WarpEngine]
) -> None:
    from rtswap.capture.synthetic_heads import Motion
    from rtswap.swapper import Swapper

    analyzer, engine = store_parts
    grace_head = SyntheticHead(grace, analyzer.analyze(grace, max_faces=1)[0].landmarks)
    left, right = (
        views.view_of(grace_head.render(Motion(yaw=y)), analyzer, engine.template, engine.device)
        for y in (-30.0, 30.0)
    )
    assert left is not None and right is not None and left.face.pose[0] < 0 < right.face.pose[0]
    target = head.render(Motion(yaw=25.0))
    with Swapper(grace, SwapConfig(device="cpu", engine_options=WarpOptions(crop_size=128))) as swapper:
        results = {}
        for label, chosen in (("both", [left, right]), ("left", [left]), ("right", [right])):
            swapper.face_swap.use(engine.load(engine.prepare(chosen)))
            results[label] = swapper.swap_image(target).astype(float)
        weights = dict(
            engine.load(engine.prepare([left, right])).appearance.weights(
                *analyzer.analyze(target)[0].pose[:2]
            )
        )
    assert weights.get(1, 0.0) > 0.75  # mostly the right-turned view...
    to_right = np.abs(results["both"] - results["right"]).mean()
    to_left = np.abs(results["both"] - results["left"]).mean()
    assert to_right < 0.35 * to_left  # ...and the swapped pixels show it


def _prepared_after(
    spoil: Callable[[Path], None],
    root: Path,
    store_parts: tuple[FaceAnalyzer, WarpEngine],
    monkeypatch: pytest.MonkeyPatch,
) -> int:
    """How often the source is prepared again after ``spoil`` did something to its cache entry."""
    analyzer, engine = store_parts
    store = IdentityStore(IdentityCache(root), engine, lambda: analyzer, progress=False)
    store.source(grace_hopper_path())
    spoil(next((root / "by-hash").iterdir()))
    calls = count_collects(monkeypatch)
    store.source(grace_hopper_path())
    return len(calls)


@pytest.mark.parametrize("manifest", ["[]", '{"format": 1, "engines": {"warp": "x"}}', '{"format": 1}'])
def test_a_manifest_of_another_shape_is_rebuilt_not_a_crash(
    manifest: str,
    tmp_path: Path,
    store_parts: tuple[FaceAnalyzer, WarpEngine],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def rewrite(entry: Path) -> None:
        (entry / "manifest.json").write_text(manifest)

    assert _prepared_after(rewrite, tmp_path, store_parts, monkeypatch) == 1
    assert "preparing again" in caplog.text


def test_an_entry_another_user_owns_is_not_trusted(
    tmp_path: Path,
    store_parts: tuple[FaceAnalyzer, WarpEngine],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def give_away(entry: Path) -> None:  # as a seeded shared folder would be
        os.chown(entry / "manifest.json", os.getuid() + 1, -1)

    assert _prepared_after(give_away, tmp_path, store_parts, monkeypatch) == 1
    assert "owned by another user" in caplog.text


def test_the_face_analysis_is_part_of_what_a_cached_source_depends_on(
    tmp_path: Path, store_parts: tuple[FaceAnalyzer, WarpEngine], monkeypatch: pytest.MonkeyPatch
) -> None:
    analyzer, engine = store_parts
    calls = count_collects(monkeypatch)
    for landmarks in ("mediapipe", "mediapipe", "torch"):
        IdentityStore(IdentityCache(tmp_path), engine, lambda: analyzer, False, landmarks).source(
            grace_hopper_path()
        )
    assert len(calls) == 2  # prepared, loaded, prepared again for the other analysis


def test_a_cache_that_cannot_be_written_leaves_the_swap_working(
    tmp_path: Path, store_parts: tuple[FaceAnalyzer, WarpEngine], caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "cache").write_text("a file where the cache folder should be")
    analyzer, engine = store_parts
    identity = IdentityStore(IdentityCache(tmp_path / "cache"), engine, lambda: analyzer, False).source(
        grace_hopper_path()
    )
    assert identity.views == 1 and "could not store the prepared source" in caplog.text
