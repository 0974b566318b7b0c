"""Prepared sources on disk: a folder per identity with a JSON manifest and safetensors files.

    <cache>/named/<name>/manifest.json      format, name, inputs' sha256, engines, created
    <cache>/named/<name>/warp-<sha>.safetensors
    <cache>/by-hash/<sha of the inputs>/...  sources given as files (--source face.jpg)

Every file is written under a temporary name and renamed into place; tensor files are named by
their content hash and the manifest is replaced last, so a reader sees the old entry or the new
one, never a mix, and two processes writing the same entry both leave a valid one. A manifest
that cannot be read, has another format version, or whose tensor file is missing or does not
match its hash is reported as stale; the caller rebuilds it from its inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rtswap.errors import InputError, RtswapError
from rtswap.weights.hashes import sha256_file

if TYPE_CHECKING:  # the CLI checks names and entries before torch is imported
    import torch

FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class StaleEntryError(RtswapError):
    """A cache entry that must not be trusted: unreadable, from another version, or corrupt."""


def default_root() -> Path:
    """``$RTSWAP_CACHE`` if set, else the user's cache folder (platformdirs)."""
    if os.environ.get("RTSWAP_CACHE"):
        return Path(os.environ["RTSWAP_CACHE"])
    import platformdirs

    return Path(platformdirs.user_cache_dir("rtswap")) / "identities"


def validate_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name:
        raise InputError(
            f"invalid identity name {name!r}: use letters, digits, '.', '_' and '-' "
            "(up to 64, starting with a letter or digit)"
        )
    return name


@dataclass
class EngineEntry:
    version: int
    """The engine's artifact format version: another version means rebuild."""
    file: str
    sha256: str
    params: dict[str, object] = field(default_factory=dict)
    """What the artifacts depend on (crop size, model file's sha256 for neural engines)."""
    info: dict[str, object] = field(default_factory=dict)
    """Shown by ``identity list`` (views, pose coverage)."""


@dataclass
class Manifest:
    name: str
    inputs: list[dict[str, str]]
    """[{"path": ..., "sha256": ...}] of the source files, in order."""
    created: str
    engines: dict[str, EngineEntry] = field(default_factory=dict)
    format: int = FORMAT_VERSION

    def to_json(self) -> str:
        data = {
            "format": self.format,
            "name": self.name,
            "inputs": self.inputs,
            "created": self.created,
            "engines": {k: vars(v) for k, v in self.engines.items()},
        }
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        if data.get("format") != FORMAT_VERSION:
            raise StaleEntryError(f"manifest format {data.get('format')!r}, expected {FORMAT_VERSION}")
        engines = {k: EngineEntry(**v) for k, v in data["engines"].items()}
        return cls(data["name"], data["inputs"], data["created"], engines, data["format"])


class IdentityCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_root()

    def entry(self, name: str) -> Path:
        return self.root / "named" / validate_name(name)

    def has(self, name: str) -> bool:
        """Whether an identity is stored under ``name``."""
        return (self.entry(name) / "manifest.json").exists()

    def hashed_entry(self, inputs_sha256: list[str]) -> Path:
        return self.root / "by-hash" / hashlib.sha256("\n".join(inputs_sha256).encode()).hexdigest()[:32]

    def names(self) -> list[str]:
        folder = self.root / "named"
        return (
            sorted(p.name for p in folder.iterdir() if (p / "manifest.json").exists())
            if folder.is_dir()
            else []
        )

    def table(self) -> str:
        """The stored identities, one per line, for ``rtswap identity list``."""
        rows = [("name", "views", "yaw°", "pitch°", "engines", "size", "created")]
        for name in self.names():
            entry = self.entry(name)
            try:
                manifest = self.read_manifest(entry)
            except StaleEntryError:
                rows.append((name, "?", "", "", "(unreadable: rebuilt on next use)", "", ""))
                continue
            info = next(iter(manifest.engines.values())).info if manifest.engines else {}
            size = sum(f.stat().st_size for f in entry.iterdir())
            rows.append(
                (
                    name,
                    str(info.get("views", "?")),
                    _span(info.get("yaw")),
                    _span(info.get("pitch")),
                    ",".join(manifest.engines),
                    f"{size / 2**20:.1f} MiB",
                    manifest.created,
                )
            )
        if len(rows) == 1:
            return f"no stored identities in {self.root} (add one: rtswap identity add NAME FILE...)"
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)

    def read_manifest(self, entry: Path) -> Manifest:
        """The entry's manifest; StaleEntryError for one that cannot be trusted: unreadable, of
        another shape, or in a folder another user owns (a shared cache folder could be seeded)."""
        path = entry / "manifest.json"
        try:
            if entry.stat().st_uid != os.getuid() or path.stat().st_uid != os.getuid():
                raise StaleEntryError(f"{entry}: owned by another user")
            return Manifest.from_json(path.read_text())
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StaleEntryError(f"{entry}: unreadable manifest ({exc})") from exc

    def load_tensors(self, entry: Path, engine: EngineEntry) -> dict[str, torch.Tensor]:
        path = entry / engine.file
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise StaleEntryError(f"{path}: missing ({exc.strerror})") from exc
        if hashlib.sha256(data).hexdigest() != engine.sha256:
            raise StaleEntryError(f"{path}: contents do not match the manifest (corrupt or truncated)")
        from safetensors.torch import load_file

        return load_file(path)

    def write(
        self,
        entry: Path,
        manifest: Manifest,
        engine: str,
        entry_data: EngineEntry,
        tensors: dict[str, torch.Tensor],
    ) -> None:
        """Store ``tensors`` for ``engine`` and point the manifest at them, atomically: on a full
        disk or an unwritable folder (OSError) nothing is left behind."""
        from safetensors.torch import save_file

        _private_dir(entry)
        tensor_file, manifest_file = _temporary(entry, ".safetensors"), _temporary(entry, ".json")
        try:
            save_file({k: v.contiguous().cpu() for k, v in tensors.items()}, str(tensor_file))
            entry_data.sha256 = sha256_file(tensor_file)
            entry_data.file = f"{engine}-{entry_data.sha256[:16]}.safetensors"
            os.replace(tensor_file, entry / entry_data.file)
            manifest.engines[engine] = entry_data
            manifest_file.write_text(manifest.to_json())
            os.replace(manifest_file, entry / "manifest.json")
        finally:
            tensor_file.unlink(missing_ok=True)
            manifest_file.unlink(missing_ok=True)
        keep = {e.file for e in manifest.engines.values()} | {"manifest.json"}
        for old in entry.iterdir():  # tensor files no manifest points to any more
            if old.name not in keep and not old.name.startswith(".tmp"):
                old.unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        entry = self.entry(name)
        if not entry.is_dir():
            raise InputError(f"no stored identity named {name!r}")
        trash = entry.with_name(f".trash-{name}-{os.getpid()}")
        os.rename(entry, trash)  # gone for readers at once; the files go after
        shutil.rmtree(trash, ignore_errors=True)


def _span(values: object) -> str:
    if isinstance(values, list) and len(values) == 2:
        return f"{values[0]:+.0f}..{values[1]:+.0f}"
    return ""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _private_dir(entry: Path) -> None:
    """Create ``entry`` (and its kind folder) readable by the owner only."""
    entry.mkdir(parents=True, exist_ok=True)
    for folder in (entry.parent, entry):
        folder.chmod(0o700)


def _temporary(entry: Path, suffix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=suffix, dir=entry)  # created 0600
    os.close(fd)
    return Path(name)
