"""SimSwap on its official checkpoints (``--engine simswap``)."""

from rtswap.engines.simswap.engine import SimSwapEngine, SimSwapIdentity

__all__ = ["SimSwapEngine", "SimSwapIdentity"]
