"""The two public-domain faces that ship inside packages rtswap depends on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def astronaut() -> np.ndarray:
    """512x512x3 uint8 RGB: Eileen Collins (NASA), from scikit-image."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


def grace_hopper_path() -> Path:
    """Path of matplotlib's sample photo of Grace Hopper (US Navy), found without importing
    matplotlib (whose first import builds a font cache and says so)."""
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.origin is not None, "matplotlib is a dependency of rtswap"
    return Path(spec.origin).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
