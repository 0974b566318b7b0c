"""Model cards (TOML, in each engine's folder) and the models folder the user's files live in.

A card names a file an engine needs, its role, its layout, the SHA-256s rtswap has seen for it
and where a user gets it (rtswap never downloads weights). What state a user's file is in, by its
card, is :mod:`rtswap.engines.models`.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from rtswap.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

log = logging.getLogger("rtswap")


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
    """Which structural check the file must pass (an engine package's ``LAYOUTS``)."""
    format: str
    """"onnx", or "state-dict" (a PyTorch state dict or safetensors file)."""
    sha256: dict[str, str]
    """Known SHA-256 -> what that file is."""
    get: str
    """Where a user gets the file."""
    swapper: dict[str, Any] = field(default_factory=dict, compare=False)
    """For a generic ONNX swapper (layout "card"): its I/O conventions (see
    :mod:`rtswap.engines.onnx_swapper`)."""
    restorer: dict[str, Any] = field(default_factory=dict, compare=False)
    """For a face restorer (role "restorer"): its I/O conventions (see
    :mod:`rtswap.plugins.restorers`)."""
    mask: dict[str, Any] = field(default_factory=dict, compare=False)
    """For a mask model (role "mask"): its I/O conventions (see :mod:`rtswap.plugins.masks`)."""


CARD_PACKAGES = ("rtswap.engines", "rtswap.plugins")
"""The packages whose sub-packages keep model cards beside their code."""


def all_cards() -> list[ModelCard]:
    """Every card shipped with the engines and plugins, in package then file order. A native
    engine's card with a ``[swapper]`` table also describes the file for the generic ONNX swapper,
    as ``onnx:<file stem>``: one card per file."""
    cards = []
    folders = [sorted(resources.files(package).iterdir(), key=lambda p: p.name) for package in CARD_PACKAGES]
    for folder in [f for in_package in folders for f in in_package]:
        if folder.is_dir():
            for item in sorted(folder.iterdir(), key=lambda p: p.name):
                if item.name.endswith(".toml"):
                    card = read_card(item.read_text())
                    cards.append(card)
                    if card.swapper and card.layout != "card":
                        cards.append(replace(card, engine=f"onnx:{Path(card.file).stem}", layout="card"))
    return cards


def read_card(text: str) -> ModelCard:
    """A card from its TOML text; a card that is not TOML, lacks a field, has one of another kind,
    or names a file anywhere but in the models folder itself, is one line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"model card is not TOML ({exc})") from None
    texts = {key: data.get(key) for key in ("engine", "role", "file", "layout", "get")}
    missing = next((key for key, value in texts.items() if value is None), None)
    if missing is not None:
        raise InputError(f"model card without {missing!r}")
    swapper, hashes, format = data.get("swapper", {}), data.get("sha256", []), data.get("format", "onnx")
    restorer, mask = data.get("restorer", {}), data.get("mask", {})
    if (
        not all(isinstance(value, str) and value for value in [*texts.values(), format])
        or not isinstance(swapper, dict)
        or not isinstance(restorer, dict)
        or not isinstance(mask, dict)
        or not isinstance(hashes, list)
        or not all(isinstance(h, dict) and isinstance(h.get("value"), str) for h in hashes)
    ):
        raise InputError(
            "model card fields of the wrong kind: engine, role, file, layout, get and format are "
            "text, [swapper], [restorer] and [mask] tables, [[sha256]] tables of value and label"
        )
    for named in (texts["file"], swapper.get("identity"), swapper.get("converter")):
        if isinstance(named, str) and named and (Path(named).name != named or named in (".", "..")):
            raise InputError(f"model card names {named!r}: a file name in the models folder, not a path")
    engine, role, file, layout, get = (str(texts[key]) for key in texts)
    known = {h["value"]: str(h.get("label", "")) for h in hashes}
    return ModelCard(engine, role, file, layout, str(format), known, get, swapper, restorer, mask)


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


def models_dir(override: Path | None = None) -> Path:
    """``override``, else ``$RTSWAP_MODELS``, else the user data folder (platformdirs)."""
    if override is not None:
        return override
    if os.environ.get("RTSWAP_MODELS"):
        return Path(os.environ["RTSWAP_MODELS"])
    import platformdirs

    return Path(platformdirs.user_data_dir("rtswap")) / "models"
