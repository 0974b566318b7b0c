"""Sources prepared once: by name (``rtswap identity add``) or by the files' content hash."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.base import Identity, SwapEngine
from rtswap.errors import InputError, require_file
from rtswap.identity import views
from rtswap.identity.cache import (
    EngineEntry,
    IdentityCache,
    Manifest,
    StaleEntryError,
    now_iso,
    sha256_file,
    validate_name,
)
from rtswap.media.image import checked_rgb

log = logging.getLogger("rtswap")


@dataclass
class IdentityStore:
    """Prepares sources through the cache: what is stored and valid is loaded, anything else is
    (re)built from its input files and stored."""

    cache: IdentityCache
    engine: SwapEngine[Any]
    analyzer: Callable[[], FaceAnalyzer]
    """Called only when a source has to be prepared (a cached one needs no face analysis)."""
    progress: bool = True
    landmarks: str = "mediapipe"
    """The face analysis that prepares sources (its landmarks differ a little by backend): part of
    what cached artifacts depend on."""
    covers: Sequence[views.Cover] = ()
    """Face parsers whose glasses and hair are left out of what is prepared: part of what cached
    artifacts depend on (by name)."""

    def source(self, source: str | Path) -> Identity:
        """A source file (cached by content hash) or the name of a stored identity."""
        path = Path(source)
        if path.is_file():
            return self._load_or_build(self.cache.hashed_entry([sha256_file(path)]), str(path), [path])
        if path.is_dir():
            raise InputError(
                f"{source}: a folder; give one photo or video, or store several as one identity"
                " (rtswap identity add NAME FILE...)"
            )
        if _is_name(str(source)) and (self.cache.entry(str(source)) / "manifest.json").exists():
            return self._load_or_build(self.cache.entry(str(source)), str(source), None)
        raise InputError(
            f"{source}: no such file, and no stored identity by that name (see: rtswap identity list)"
        )

    def add(self, name: str, files: list[Path], replace: bool = False) -> Identity:
        """Prepare ``files`` (images and/or videos) and store them as ``name``; an identity
        already stored under that name is replaced only with ``replace``."""
        validate_name(name)
        if not replace and self.cache.has(name):
            raise InputError(f"an identity named {name!r} is already stored; add --force to replace it")
        for path in files:
            require_file(path)
        return self._build(self.cache.entry(name), name, files)

    def _load_or_build(self, entry: Path, name: str, files: list[Path] | None) -> Identity:
        try:
            manifest = self.cache.read_manifest(entry)
        except FileNotFoundError:
            assert files is not None
            return self._build(entry, name, files)
        except StaleEntryError as exc:
            return self._rebuild(entry, name, files, str(exc))
        stored = manifest.engines.get(self.engine.name)
        if (
            stored is None
            or stored.version != self.engine.artifact_version
            or stored.params != self._params()
        ):
            return self._rebuild(entry, name, files, f"no {self.engine.name} artifacts for these settings")
        try:
            return self.engine.load(self.cache.load_tensors(entry, stored))
        except StaleEntryError as exc:
            return self._rebuild(entry, name, files, str(exc))

    def _rebuild(self, entry: Path, name: str, files: list[Path] | None, reason: str) -> Identity:
        if files is None:  # a named identity: rebuild from the inputs it was made from
            try:
                files = [Path(i["path"]) for i in self.cache.read_manifest(entry).inputs]
            except (StaleEntryError, FileNotFoundError, KeyError):
                files = []
            missing = [str(f) for f in files if not f.is_file()]
            if not files or missing:
                raise InputError(
                    f"stored identity {name!r} cannot be used ({reason}) nor rebuilt "
                    f"(inputs missing: {', '.join(missing) or 'unknown'}); add it again: rtswap identity add"
                )
        log.warning("%s: cached preparation not usable (%s); preparing again", name, reason)
        return self._build(entry, name, files)

    def _build(self, entry: Path, name: str, files: list[Path]) -> Identity:
        chosen = views.marked(views.collect(files, self.analyzer(), self.engine, self.progress), self.covers)
        tensors = self.engine.prepare(chosen)
        inputs = [{"path": str(f.resolve()), "sha256": sha256_file(f)} for f in files]
        manifest = Manifest(name=name, inputs=inputs, created=now_iso())
        try:  # other engines' artifacts of the same inputs stay valid
            old = self.cache.read_manifest(entry)
            if old.inputs == inputs:
                manifest.engines = {k: v for k, v in old.engines.items() if k != self.engine.name}
        except (FileNotFoundError, StaleEntryError):
            pass
        poses = np.array([v.face.pose for v in chosen])
        info = {
            "views": len(chosen),
            "yaw": [round(float(poses[:, 0].min()), 1), round(float(poses[:, 0].max()), 1)],
            "pitch": [round(float(poses[:, 1].min()), 1), round(float(poses[:, 1].max()), 1)],
        }
        stored = EngineEntry(
            version=self.engine.artifact_version, file="", sha256="", params=self._params(), info=info
        )
        try:
            self.cache.write(entry, manifest, self.engine.name, stored, tensors)
        except OSError as exc:  # a full disk, an unwritable cache: the swap goes on, uncached
            log.warning(
                "could not store the prepared source in %s (%s); it is prepared again next time", entry, exc
            )
        return self.engine.load(tensors)

    def _params(self) -> dict[str, object]:
        covers = {"source_parsers": [c.name for c in self.covers]} if self.covers else {}
        return {**self.engine.params(), "landmarks": self.landmarks, **covers}


def _is_name(text: str) -> bool:
    try:
        validate_name(text)
    except InputError:
        return False
    return True


def prepare_source(
    source: str | Path | np.ndarray,
    engine: SwapEngine[Any],
    analyzer: Callable[[], FaceAnalyzer],
    cache_root: Path | None = None,
    progress: bool = True,
    landmarks: str = "mediapipe",
    covers: Sequence[views.Cover] = (),
) -> Identity:
    """Everything ``engine`` needs from the source, computed once: an image array is prepared
    directly; a file (image or video) or a stored identity's name goes through the identity
    cache, so a source used before loads instead of being prepared again. ``covers``: face parsers
    whose glasses and hair are left out (``--mask region``)."""
    if isinstance(source, np.ndarray):
        return views.prepare_image(checked_rgb(source, "source image"), analyzer(), engine, covers)
    store = IdentityStore(IdentityCache(cache_root), engine, analyzer, progress, landmarks, covers)
    return store.source(source)
