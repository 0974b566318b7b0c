"""Argument types of the command line: each turns a flag's text into a value, or says in one line
why it cannot."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from rtswap.engines import package_for
from rtswap.errors import InputError


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = _finite(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def positive_float(text: str) -> float:
    value = _finite(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value:g}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 0 to 1, got {value:g}")
    return value


def enhancer(text: str) -> str:
    from rtswap.plugins.restorers import names

    if text not in names():
        raise argparse.ArgumentTypeError(f"unknown restorer {text!r}; available: {', '.join(names())}")
    return text


def listed(allowed: tuple[str, ...] | list[str]) -> Callable[[str], tuple[str, ...]]:
    """A comma-separated list of ``allowed`` names (each once)."""

    def parse(text: str) -> tuple[str, ...]:
        names = tuple(dict.fromkeys(name.strip() for name in text.split(",") if name.strip()))
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise argparse.ArgumentTypeError(
                f"choose from {', '.join(allowed)} (comma-separated), got {text!r}"
            )
        return names

    return parse


MAX_RESOLUTION = (3840, 2160)
"""4K UHD, either way round: the synthetic clip is kept in memory whole (150 frames of 4K take
3.7 GB; 20000x20000 was killed for memory), and no camera gives more."""


def resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"resolution too small: {text}")
    (short, long), (max_short, max_long) = sorted((width, height)), sorted(MAX_RESOLUTION)
    if short > max_short or long > max_long:
        raise argparse.ArgumentTypeError(f"resolution past {'x'.join(map(str, MAX_RESOLUTION))}: {text}")
    return width, height


def engine(text: str) -> str:
    try:
        package_for(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
