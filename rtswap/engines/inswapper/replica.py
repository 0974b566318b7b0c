"""Random-weight replicas of inswapper-128's layout, at its real width or narrower.

No checkpoint can be downloaded here: tests build small replicas to check loading, parity between
backends and the whole swap path, and benchmarks use the real width, whose cost random weights
have exactly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rtswap.engines.inswapper import graph
from rtswap.engines.inswapper.layout import LATENT, STYLE_BLOCKS, Conv, InswapperWeights

REAL_WIDTHS = (128, 256, 512, 1024)


def random_weights(widths: tuple[int, int, int, int] = REAL_WIDTHS, seed: int = 0) -> InswapperWeights:
    """Weights of inswapper's layout with these encoder widths, scaled so activations stay O(1)."""
    rng = np.random.default_rng(seed)
    c1, c2, c3, c4 = widths

    def conv(cin: int, cout: int, k: int, stride: int = 1, padding: int = 1) -> Conv:
        weight = rng.normal(0.0, np.sqrt(1.0 / (cin * k * k)), (cout, cin, k, k)).astype(np.float32)
        return Conv(weight, rng.normal(0.0, 0.01, cout).astype(np.float32), stride, padding)

    def gemm() -> tuple[np.ndarray, np.ndarray]:
        weight = rng.normal(0.0, 0.5 / np.sqrt(LATENT), (2 * c4, LATENT)).astype(np.float32)
        bias = np.concatenate([np.ones(c4), np.zeros(c4)]).astype(np.float32)  # γ ≈ 1, β ≈ 0
        return weight, bias

    return InswapperWeights(
        encoder=[conv(3, c1, 7, padding=0), conv(c1, c2, 3), conv(c2, c3, 3, 2), conv(c3, c4, 3, 2)],
        style_convs=[conv(c4, c4, 3, padding=0) for _ in range(2 * STYLE_BLOCKS)],
        decoder=[conv(c4, c3, 3), conv(c3, c2, 3), conv(c2, c1, 3), conv(c1, 3, 7, padding=0)],
        style_gemms=[gemm() for _ in range(2 * STYLE_BLOCKS)],
        emap=rng.normal(0.0, 1.0 / np.sqrt(LATENT), (LATENT, LATENT)).astype(np.float32),
    )


def write_replica(path: Path, widths: tuple[int, int, int, int] = REAL_WIDTHS, seed: int = 0) -> Path:
    """An ONNX file with inswapper_128.onnx's layout and random weights."""
    graph.save(graph.build(random_weights(widths, seed), source_path=True), path)
    return path
