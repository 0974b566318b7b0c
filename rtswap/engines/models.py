"""The engines' model files in the models folder, by their cards (:mod:`rtswap.weights.cards`).

A file in the models folder is *verified* when its hash is on the card, *unverified* when the hash
is unknown but the layout is the engine's (it runs, with a warning), *wrong layout* when it is
neither, else *missing*. Layouts are checked by the engine package that declares them."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rtswap.engines import layout_check, names
from rtswap.errors import InputError, ModelLoadError, require_file
from rtswap.weights import onnx_io
from rtswap.weights.cards import ModelCard, all_cards, cards_for
from rtswap.weights.hashes import file_sha256, sha256_file
from rtswap.weights.plugin_io import mask_mismatch, restorer_mismatch

log = logging.getLogger("rtswap")


State = Literal["verified", "unverified", "wrong layout", "missing"]


def fits(card: ModelCard, content: Any) -> bool:
    """Whether ``content`` (an ONNX model or a state dict, as the card's format says) has the
    card's layout (a restorer's or a mask model's: its card's inputs and outputs)."""
    try:
        if card.role == "restorer":
            return restorer_mismatch(content, card) is None
        if card.role == "mask":
            return mask_mismatch(content, card) is None
        return layout_check(card.layout)(content, card)
    except (KeyError, ValueError, RuntimeError, IndexError):
        return False


def _read(path: Path, format: str) -> Any:
    if format == "onnx":
        return onnx_io.load(path)
    from rtswap.weights.state_dict import read_state_dict

    return read_state_dict(path)


def engine_names() -> list[str]:
    """Every engine: the built-in ones, then one ``onnx:NAME`` per generic swapper card."""
    built_in = [name for name in names() if not name.startswith("onnx:")]
    return [*built_in, *(c.engine for c in all_cards() if c.role == "swapper" and c.layout == "card")]


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
    """The card's file in ``folder`` (see :func:`require_all`)."""
    return require_all([[card]], folder)[0]


def require_all(roles: list[list[ModelCard]], folder: Path) -> list[FileStatus]:
    """For each role (the files that can each fill it, preferred first), the first one present in
    ``folder``; if any role has none, one line naming every missing file, where each comes from
    and the command that adds them. A file of unknown hash is one warning."""
    chosen = [next((card for card in options if (folder / card.file).is_file()), None) for options in roles]
    missing = [options for options, card in zip(roles, chosen, strict=True) if card is None]
    if missing:
        names = [" or ".join(card.file for card in options) for options in missing]
        sources = "; ".join(
            f"{name}: {options[0].get.split(';')[0]}" for name, options in zip(names, missing, strict=True)
        )
        files = " ".join(f"/path/to/{options[0].file}" for options in missing)
        first = missing[0][0]
        flag = {"restorer": f"--enhancer {first.engine}", "mask": f"--mask {first.mask.get('kind')}"}
        needs = flag.get(first.role, first.engine)
        raise ModelLoadError(
            f"{needs} needs {' and '.join(names)}, not found in {folder} ({sources}); "
            f"then run: rtswap engines add {files}"
        )
    return [_present(card, folder) for card in chosen if card is not None]


def _present(card: ModelCard, folder: Path) -> FileStatus:
    """The state of a card's file that is in ``folder``, with a one-line warning when its hash is
    unknown (it runs: its layout is the expected one)."""
    found = status(card, folder)
    if found.state == "unverified":
        log.warning(
            "unverified checkpoint: %s has SHA-256 %s…, not one on its model card; its layout is "
            "the expected one, so it runs",
            found.path,
            found.sha256[:16],
        )
    return found


def identify(path: Path, engine: str | None = None) -> tuple[ModelCard, bool]:
    """The card a user's file belongs to, and whether its hash is on the card. By hash first,
    else by layout (among ``engine``'s cards, if given), and among cards of the same layout by the
    file's name; a file that fits no card, or several engines' files alike, is one line."""
    require_file(path)
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
        flag = "--enhancer" if all(c.role == "restorer" for c in matching) else "--engine"
        raise InputError(f"{path}: fits several model cards ({choices}); say which with {flag}")
    if matching:
        return matching[0], False
    known = ", ".join(sorted({c.file for c in cards}))
    found = onnx_io.describe(content) if format == "onnx" else f"a state dict of {len(content)} tensors"
    raise ModelLoadError(f"{path}: not a model file rtswap can use ({found}); it uses: {known}")


def add(path: Path, folder: Path, engine: str | None = None, force: bool = False) -> FileStatus:
    """Copy a user's file into ``folder`` under its card's name (atomically, through a temporary
    file of an unpredictable name); another file already there is replaced only with ``force``."""
    card, _ = identify(path, engine)
    if card.format == "onnx" and (external := onnx_io.external_files(path)):
        raise InputError(
            f"{path}: keeps its weights in {', '.join(external)} beside it; rtswap installs single-file "
            "models: save it as one file (onnx.save_model(model, path, save_as_external_data=False))"
        )
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / card.file
    if path.resolve() == target.resolve():
        return status(card, folder)
    if target.exists() and not force:
        installed = status(card, folder).state
        raise InputError(f"{target} is already installed ({installed}); add --force to replace it")
    descriptor, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=f"-{card.file}")
    os.close(descriptor)
    try:
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return status(card, folder)


def _state(found: FileStatus) -> str:
    return found.state + (f" ({found.card.sha256[found.sha256]})" if found.state == "verified" else "")


def table(folder: Path, backends: list[str]) -> str:
    """Every engine, restorer and mask model, the files each needs and their state, for
    ``rtswap engines list``.
    ``backends``: the runtime backends this machine can run neural engines on."""
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
        runs_on = [b for b in backends if not engine.startswith("onnx:") or b in ("onnxruntime", "tensorrt")]
        for i, found in enumerate(states):
            rows.append(
                (
                    engine if i == 0 else "",
                    found.card.file,
                    _state(found),
                    ", ".join(runs_on) if i == 0 and ready else "",
                )
            )
    onnx_backends = ", ".join(b for b in backends if b in ("onnxruntime", "tensorrt"))
    for card in (c for c in cards if c.role in ("restorer", "mask")):  # --enhancer NAME, --mask KIND
        found = status(card, folder)
        runs = found.state in ("verified", "unverified")
        flag = f"--enhancer {card.engine}" if card.role == "restorer" else f"--mask {card.mask['kind']}"
        rows.append((flag, card.file, _state(found), onnx_backends if runs else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([*lines, f"models folder: {folder}"])
