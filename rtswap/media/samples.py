"""The two public-domain faces that ship inside packages rtswap depends on."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def astronaut() -> np.ndarray:
    """512x512x3 uint8 RGB: Eileen Collins (NASA), from scikit-image."""
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


def grace_hopper_path() -> Path:
    """Path of matplotlib's sample photo of Grace Hopper (US Navy)."""
    from matplotlib import cbook

    return Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
