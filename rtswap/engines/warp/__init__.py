"""The built-in ``warp`` engine (no downloaded weights)."""

from rtswap.engines.warp.engine import WarpEngine, WarpIdentity

__all__ = ["WarpEngine", "WarpIdentity"]
