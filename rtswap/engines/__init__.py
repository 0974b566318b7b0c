"""Swap engines: a registry of the engine packages in this folder, found by name and imported
lazily.

An engine package (``rtswap/engines/NAME/``) is the whole engine: the code, its model cards
(``*.toml``) and, in its ``__init__``, what the registry reads, importable without torch:

- ``NAME``, ``SUMMARY``, ``PLACE``: how it is named, described and listed;
- ``open(settings)``: the engine, a :class:`~rtswap.engines.base.SwapEngine`;

and, if it has them (the registry's defaults otherwise):

- ``handles(name)``: whether ``--engine name`` is it (default: ``name == NAME``; ``onnx:NAME`` and
  card files are the ONNX swapper's);
- ``Options``: its own options (a :class:`~rtswap.config.EngineOptions`), ``add_arguments(group)``:
  the flags that fill them (shown in its own ``--help`` group), ``options(args)``, and ``FLAGS``:
  the destinations of every flag it reads (default: none);
- ``LAYOUTS``: layout name -> check that a model file is what a card says (given the parsed file).

A new engine is a new folder: nothing outside it names it.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rtswap.config import EngineOptions
from rtswap.errors import InputError

if TYPE_CHECKING:  # --help reads the registry, which must not import torch
    from rtswap.engines.base import EngineSettings, SwapEngine

DEFAULT = "warp"


@cache
def packages() -> tuple[ModuleType, ...]:
    """Every engine package, in the order each says it is listed (``PLACE``)."""
    found = [
        importlib.import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if info.ispkg
    ]
    return tuple(sorted(found, key=lambda package: (package.PLACE, package.NAME)))


def names() -> list[str]:
    """The engines' names as ``--engine`` takes them (``onnx:NAME`` stands for every card's)."""
    return [package.NAME for package in packages()]


def package_for(name: str) -> ModuleType:
    """The package of engine ``name``; one line if there is none."""
    for package in packages():
        if package.handles(name) if hasattr(package, "handles") else name == package.NAME:
            return package
    raise InputError(
        f"unknown engine {name!r}; available: {', '.join(names())} (rtswap engines list) "
        "or a model card file (.toml)"
    )


def create_engine(settings: EngineSettings) -> SwapEngine[Any]:
    """The engine ``settings.name``, ready to prepare sources and swap. A neural engine whose
    model files or runtime are missing raises an error that says what to install or add."""
    engine: SwapEngine[Any] = package_for(settings.name).open(settings)
    return engine


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every engine's own flags, each engine's in a group of its own."""
    for package in packages():
        if hasattr(package, "add_arguments"):
            package.add_arguments(parser.add_argument_group(f"{package.NAME} options"))


def options(name: str, args: argparse.Namespace) -> EngineOptions:
    """Engine ``name``'s options from parsed flags; one line for a flag given that belongs to
    other engines only."""
    package = package_for(name)
    defaults = argparse.ArgumentParser(add_help=False)
    add_arguments(defaults)
    for dest in {flag for other in packages() for flag in _flags(other)} - set(_flags(package)):
        if getattr(args, dest) != defaults.get_default(dest):
            users = ", ".join(p.NAME for p in packages() if dest in _flags(p))
            raise InputError(f"--{dest.replace('_', '-')} is an option of {users}, not of {name}")
    chosen: EngineOptions = package.options(args) if hasattr(package, "options") else EngineOptions()
    return chosen


def _flags(package: ModuleType) -> tuple[str, ...]:
    return tuple(getattr(package, "FLAGS", ()))


def layout_check(layout: str) -> Callable[[Any, Any], bool]:
    """The check of a model card's ``layout``, from the engine package that declares it."""
    for package in packages():
        if layout in getattr(package, "LAYOUTS", {}):
            check: Callable[[Any, Any], bool] = package.LAYOUTS[layout]
            return check
    raise KeyError(layout)
