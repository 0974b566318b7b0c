"""Model cards (TOML, next to each engine) and the models folder the user's files live in.

A card names a file an engine needs, its role, its layout, the SHA-256s rtswap has seen for it
and where a user gets it (rtswap never downloads weights). A file in the models folder is
*verified* when its hash is on the card, *unverified* when the hash is unknown but the layout is
the engine's (it runs, with a warning), *wrong layout* when it is neither, else *missing*.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from rtswap.errors import InputError, ModelLoadError
from rtswap.identity.cache import sha256_file
from rtswap.weights import onnx_io

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger("rtswap")

State = Literal["verified", "unverified", "wrong layout", "missing"]


@dataclass(frozen=True)
class ModelCard:
    engine: str
    """The engine the file belongs to ("onnx" for files any generic swapper may name)."""
    role: str
    """"swapper", "identity" (the recognition model that embeds the source), "converter" (maps
    that embedding into the one a swapper was trained with) or "generator" (MegaFS's StyleGAN2)."""
    file: str
    """The file name in the models folder."""
    layout: str
    """Which structural check the file must pass (see :data:`LAYOUTS`)."""
    format: str
    """"onnx", or "state-dict" (a PyTorch state dict or safetensors file)."""
    sha256: dict[str, str]
    """Known SHA-256 -> what that file is."""
    get: str
    """Where a user gets the file."""
    swapper: dict[str, Any] = field(default_factory=dict, compare=False)
    """For a generic ONNX swapper (layout "card"): its I/O conventions (see
    :mod:`rtswap.engines.onnx_swapper`)."""


def _inswapper_layout(model: Any, card: ModelCard) -> bool:
    from rtswap.engines.inswapper import layout

    return layout.matches(model)


def _card_layout(model: Any, card: ModelCard) -> bool:
    from rtswap.engines.onnx_swapper.io import mismatch

    return mismatch(model, card) is None


def _simswap_layout(size: int) -> Callable[[Any, ModelCard], bool]:
    def right_size(state: Any, card: ModelCard) -> bool:
        from rtswap.engines.simswap.model import generator_from_state_dict

        return generator_from_state_dict(state).size == size

    return right_size


def _simswap_arcface_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.simswap.model import arcface_from_state_dict

    arcface_from_state_dict(state)
    return True


def _megafs_ftm_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.megafs.model import encoder_from_state_dict, ftm_from_state_dict, part

    encoder_from_state_dict(part(state, "e."))
    ftm_from_state_dict(part(state, "s."))
    return True


def _stylegan2_layout(state: Any, card: ModelCard) -> bool:
    from rtswap.engines.megafs.model import part, synthesis_from_state_dict

    synthesis_from_state_dict(part(state, "g_ema."))
    return True


LAYOUTS: dict[str, Callable[[Any, ModelCard], bool]] = {
    # ONNX files: given the loaded model
    "inswapper": _inswapper_layout,
    "arcface": lambda model, card: onnx_io.is_arcface(model),
    "converter": lambda model, card: onnx_io.is_converter(model),
    "card": _card_layout,
    # state dicts: given the tensors by name
    "simswap-224": _simswap_layout(224),
    "simswap-512": _simswap_layout(512),
    "simswap-arcface": _simswap_arcface_layout,
    "megafs-ftm": _megafs_ftm_layout,
    "stylegan2": _stylegan2_layout,
}


def fits(card: ModelCard, content: Any) -> bool:
    """Whether ``content`` (an ONNX model or a state dict, as the card's format says) has the
    card's layout."""
    try:
        return LAYOUTS[card.layout](content, card)
    except (KeyError, ValueError, RuntimeError, IndexError):
        return False


def _read(path: Path, format: str) -> Any:
    if format == "onnx":
        return onnx_io.load(path)
    from rtswap.weights.state_dict import read_state_dict

    return read_state_dict(path)


def all_cards() -> list[ModelCard]:
    """Every card shipped with the engines, in engine then file order."""
    cards = []
    for folder in sorted(resources.files("rtswap.engines").iterdir(), key=lambda p: p.name):
        if folder.is_dir():
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if item.name.endswith(".toml"):
                    cards.append(read_card(item.read_text()))
    return cards


def read_card(text: str) -> ModelCard:
    """A card from its TOML text; a card that lacks a field is one line naming it."""
    data = tomllib.loads(text)
    try:
        hashes = {h["value"]: h["label"] for h in data.get("sha256", [])}
        return ModelCard(
            data["engine"],
            data["role"],
            data["file"],
            data["layout"],
            data.get("format", "onnx"),
            hashes,
            data["get"],
            data.get("swapper", {}),
        )
    except KeyError as exc:
        raise InputError(f"model card without {exc.args[0]!r}") from None


def cards_for(engine: str, cards: list[ModelCard] | None = None) -> list[ModelCard]:
    """The cards of every file ``engine`` needs: its own, and for a generic swapper the identity
    model and converter it names."""
    cards = all_cards() if cards is None else cards
    own = [c for c in cards if c.engine == engine]
    return files_of(own[0], cards) if len(own) == 1 and own[0].swapper else own


def files_of(card: ModelCard, cards: list[ModelCard]) -> list[ModelCard]:
    """A generic swapper's card, then the cards of the identity model and converter it names;
    a named file that no card describes is one line."""
    needed = [card]
    for role in ("identity", "converter"):
        named = card.swapper.get(role)
        if named:
            found = next((c for c in cards if c.file == named and c.role == role), None)
            if found is None:
                raise InputError(
                    f"{card.engine}: its card names {role} {named!r}, which no model card describes"
                )
            needed.append(found)
    return needed


def engine_names() -> list[str]:
    """Every engine: the built-in ones, then one ``onnx:NAME`` per generic swapper card."""
    from rtswap.engines import ENGINES

    return [*ENGINES, *(c.engine for c in all_cards() if c.role == "swapper" and c.layout == "card")]


def models_dir(override: Path | None = None) -> Path:
    """``override``, else ``$RTSWAP_MODELS``, else the user data folder (platformdirs)."""
    if override is not None:
        return override
    if os.environ.get("RTSWAP_MODELS"):
        return Path(os.environ["RTSWAP_MODELS"])
    import platformdirs

    return Path(platformdirs.user_data_dir("rtswap")) / "models"


@dataclass(frozen=True)
class FileStatus:
    card: ModelCard
    path: Path
    state: State
    sha256: str = ""


def status(card: ModelCard, folder: Path) -> FileStatus:
    path = folder / card.file
    if not path.is_file():
        return FileStatus(card, path, "missing")
    digest = file_sha256(path)
    if digest in card.sha256:
        return FileStatus(card, path, "verified", digest)
    try:
        right = fits(card, _read(path, card.format))
    except ModelLoadError:
        right = False
    return FileStatus(card, path, "unverified" if right else "wrong layout", digest)


def require(card: ModelCard, folder: Path) -> FileStatus:
    """The card's file in ``folder``, with a one-line error when it is missing and a one-line
    warning when its hash is unknown."""
    found = status(card, folder)
    if found.state == "missing":
        raise ModelLoadError(
            f"{card.engine} needs {card.file}, not found in {folder}: get {card.get.split(';')[0]} "
            f"and run: rtswap engines add /path/to/{card.file}"
        )
    if found.state == "unverified":
        log.warning(
            "unverified checkpoint: %s has SHA-256 %s…, not one on its model card; its layout is "
            "the expected one, so it runs",
            found.path,
            found.sha256[:16],
        )
    return found


def require_one(options: list[ModelCard], folder: Path) -> FileStatus:
    """The first of ``options`` (files that can each fill one role) present in ``folder``."""
    for card in options:
        if (folder / card.file).is_file():
            return require(card, folder)
    names = " or ".join(c.file for c in options)
    raise ModelLoadError(
        f"{options[0].engine} needs {names}, not found in {folder}: get {options[0].get.split(';')[0]} "
        f"and run: rtswap engines add /path/to/FILE"
    )


def identify(path: Path, engine: str | None = None) -> tuple[ModelCard, bool]:
    """The card a user's file belongs to, and whether its hash is on the card. By hash first,
    else by layout (among ``engine``'s cards, if given), and among cards of the same layout by the
    file's name; a file that fits no card, or several engines' files alike, is one line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    digest = sha256_file(path)
    cards = all_cards() if engine is None else cards_for(engine)
    for card in cards:
        if digest in card.sha256:
            return card, True
    try:
        content, format = onnx_io.load(path), "onnx"
    except ModelLoadError as not_onnx:
        if path.suffix not in (".pth", ".pt", ".tar", ".safetensors", ".ckpt"):
            raise not_onnx from None
        content, format = _read(path, "state-dict"), "state-dict"  # a pickle needing code: one line
    matching = [card for card in cards if card.format == format and fits(card, content)]
    named = [card for card in matching if Path(card.file).stem in path.name]
    matching = named or matching  # layouts alike (two ArcFace exports): the file's name decides
    if len({card.file for card in matching}) > 1:
        choices = ", ".join(f"{c.file} for {c.engine}" for c in matching)
        raise InputError(f"{path}: fits several model cards ({choices}); say which with --engine")
    if matching:
        return matching[0], False
    known = ", ".join(sorted({c.file for c in cards}))
    found = onnx_io.describe(content) if format == "onnx" else f"a state dict of {len(content)} tensors"
    raise ModelLoadError(f"{path}: not a model file rtswap can use ({found}); it uses: {known}")


def add(path: Path, folder: Path, engine: str | None = None) -> FileStatus:
    """Copy a user's file into ``folder`` under its card's name (atomically)."""
    card, _ = identify(path, engine)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / card.file
    if path.resolve() != target.resolve():
        tmp = folder / f".tmp-{os.getpid()}-{card.file}"
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    return status(card, folder)


def file_sha256(path: Path) -> str:
    """The file's SHA-256, remembered in the folder's ``.sha256.json`` by size and modification
    time, so a 550 MB checkpoint is hashed once, not at every start."""
    memo_path = path.parent / ".sha256.json"
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    stat = path.stat()
    key = [stat.st_size, stat.st_mtime_ns]
    entry = memo.get(path.name)
    if isinstance(entry, dict) and entry.get("key") == key:
        return str(entry["sha256"])
    digest = sha256_file(path)
    memo[path.name] = {"key": key, "sha256": digest}
    try:
        tmp = memo_path.with_name(f".tmp-{os.getpid()}-sha256.json")
        tmp.write_text(json.dumps(memo, indent=1))
        os.replace(tmp, memo_path)
    except OSError:  # a read-only models folder: hash again next time
        pass
    return digest


def table(folder: Path, backends: list[str]) -> str:
    """Every engine, the files it needs and their state, for ``rtswap engines list``.
    ``backends``: the runtime backends this machine can run neural engines on."""
    from rtswap.engines import ENGINES

    rows = [("engine", "file", "state", "backends here")]
    cards = all_cards()
    for engine in engine_names():
        engine_cards = cards_for(engine, cards)
        if not engine_cards:
            rows.append((engine, "(built in, no weights)", "ready", "eager"))
            continue
        states = [status(card, folder) for card in engine_cards]
        usable = {s.card.role for s in states if s.state in ("verified", "unverified")}
        ready = usable == {s.card.role for s in states}  # every role filled by one of its files
        runs_on = [b for b in backends if engine in ENGINES or b in ("onnxruntime", "tensorrt")]
        for i, found in enumerate(states):
            state = found.state + (
                f" ({found.card.sha256[found.sha256]})" if found.state == "verified" else ""
            )
            rows.append(
                (
                    engine if i == 0 else "",
                    found.card.file,
                    state,
                    ", ".join(runs_on) if i == 0 and ready else "",
                )
            )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([*lines, f"models folder: {folder}"])
