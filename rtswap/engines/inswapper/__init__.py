"""inswapper-128 on the user's own ``inswapper_128.onnx`` and ``w600k_r50.onnx``."""

from rtswap.engines.inswapper.engine import InswapperEngine, InswapperIdentity

__all__ = ["InswapperEngine", "InswapperIdentity"]
