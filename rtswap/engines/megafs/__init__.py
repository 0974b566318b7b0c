"""MegaFS on its published checkpoints (``--engine megafs``)."""

from rtswap.engines.megafs.engine import MegaFSEngine, MegaFSIdentity

__all__ = ["MegaFSEngine", "MegaFSIdentity"]
