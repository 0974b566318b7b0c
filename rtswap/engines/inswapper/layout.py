"""inswapper-128's layout, recognised by walking the ONNX graph, and its weights read as arrays.

The file is recognised by its structure, not its name: two inputs (a 3x128x128 target and a
512-d source latent), 20 convolutions in graph order (4 encoder, 12 in the 6 style blocks, 4
decoder) whose weight shapes chain as inswapper's do, 12 Gemms from the 512-d latent to twice the
style blocks' width, and ``emap`` (512x512) as the last initializer. Channel widths are read from
the tensors, so a narrower replica of the same layout loads too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtswap.errors import ModelLoadError
from rtswap.weights import onnx_io

LATENT = 512
STYLE_BLOCKS = 6
_EXPECTED = (
    "2 inputs (target [1,3,128,128], source [1,512]), 20 convolutions (4 encoder, 12 style, "
    "4 decoder), 12 Gemms 512->2C and emap [512,512] as the last initializer"
)


@dataclass
class Conv:
    weight: np.ndarray
    """(out, in, k, k) float32."""
    bias: np.ndarray
    """(out,) float32 (zeros where the file has none)."""
    stride: int
    padding: int
    """Zero padding on each side (the reflect pads are separate nodes, at fixed places)."""


@dataclass
class InswapperWeights:
    encoder: list[Conv]
    style_convs: list[Conv]
    """Two per style block, in order."""
    decoder: list[Conv]
    style_gemms: list[tuple[np.ndarray, np.ndarray]]
    """Two per style block: weight (2C, 512) as (out, in), bias (2C,). They depend only on the
    source, so they run once per identity, not per frame."""
    emap: np.ndarray
    """(512, 512): the ArcFace embedding -> latent map."""

    @property
    def widths(self) -> tuple[int, int, int, int]:
        """Channels after each encoder convolution (inswapper: 128, 256, 512, 1024)."""
        a, b, c, d = (int(conv.weight.shape[0]) for conv in self.encoder)
        return a, b, c, d


def read(path: Path) -> InswapperWeights:
    """inswapper's weights from ``path``, or one line saying what was expected and found."""
    model = onnx_io.load(path)
    if onnx_io.is_arcface(model):
        raise ModelLoadError(
            f"{path}: this is an ArcFace recognition model ({onnx_io.describe(model)}), not inswapper's "
            "swapper; add both files with: rtswap engines add inswapper_128.onnx w600k_r50.onnx"
        )
    try:
        return _weights(model)
    except (_LayoutError, KeyError, IndexError) as exc:
        raise ModelLoadError(
            f"{path}: not inswapper-128's layout: expected {_EXPECTED}; "
            f"found {exc} ({onnx_io.describe(model)})"
        ) from None


def matches(model: Any) -> bool:
    """Whether a loaded ONNX model has inswapper's layout."""
    try:
        _weights(model)
    except (_LayoutError, KeyError, IndexError):
        return False
    return True


class _LayoutError(Exception):
    pass


def _check(condition: bool, found: str) -> None:
    if not condition:
        raise _LayoutError(found)


def _weights(model: Any) -> InswapperWeights:
    ins = onnx_io.inputs(model)
    _check(
        len(ins) == 2 and ins[0].shape[1:] == (3, 128, 128) and ins[1].shape[-1:] == (LATENT,),
        f"{len(ins)} inputs",
    )
    arrays = onnx_io.initializers(model)
    nodes = model.graph.node
    convs = [_conv(n, arrays) for n in nodes if n.op_type == "Conv"]
    gemms = [_gemm(n, arrays) for n in nodes if n.op_type == "Gemm"]
    _check(
        len(convs) == 20 and len(gemms) == 2 * STYLE_BLOCKS,
        f"{len(convs)} convolutions and {len(gemms)} Gemms",
    )
    encoder, style_convs, decoder = convs[:4], convs[4:16], convs[16:]
    _check_chain(encoder, style_convs, decoder)
    width = encoder[-1].weight.shape[0]
    _check(
        all(w.shape == (2 * width, LATENT) and b.shape == (2 * width,) for w, b in gemms),
        f"Gemm weights {[w.shape for w, _ in gemms][:2]}..., expected ({2 * width}, {LATENT})",
    )
    emap = arrays[model.graph.initializer[-1].name]
    _check(emap.shape == (LATENT, LATENT), f"last initializer of shape {emap.shape}")
    return InswapperWeights(encoder, style_convs, decoder, gemms, emap.astype(np.float32))


def _check_chain(encoder: list[Conv], style_convs: list[Conv], decoder: list[Conv]) -> None:
    """Kernel sizes and channel counts must chain as inswapper's do."""
    shapes = [c.weight.shape for c in (*encoder, *style_convs, *decoder)]
    kernels = [s[2:] for s in shapes]
    _check(
        kernels == [(7, 7)] + [(3, 3)] * 18 + [(7, 7)],
        f"kernel sizes {[k[0] for k in kernels]}",
    )
    _check(
        shapes[0][1] == 3 and shapes[-1][0] == 3, f"{shapes[0][1]} input and {shapes[-1][0]} output channels"
    )
    widths = [s[0] for s in shapes[:4]]
    chained = all(shapes[i + 1][1] == shapes[i][0] for i in range(len(shapes) - 1))
    symmetric = [s[0] for s in shapes[16:19]] == widths[2::-1]
    square = all(s[:2] == (widths[3], widths[3]) for s in shapes[4:16])
    _check(chained and symmetric and square, f"channel widths {[s[0] for s in shapes]}")
    _check([c.stride for c in encoder] == [1, 1, 2, 2], f"encoder strides {[c.stride for c in encoder]}")


def _conv(node: Any, arrays: dict[str, np.ndarray]) -> Conv:
    weight = arrays[node.input[1]]
    bias = (
        arrays[node.input[2]]
        if len(node.input) > 2 and node.input[2]
        else np.zeros(weight.shape[0], np.float32)
    )
    strides = onnx_io.attribute(node, "strides", [1, 1])
    pads = onnx_io.attribute(node, "pads", [0, 0, 0, 0])
    _check(
        len(set(strides)) == 1 and len(set(pads)) == 1, f"a convolution with strides {strides}, pads {pads}"
    )
    return Conv(weight, bias, int(strides[0]), int(pads[0]))


def _gemm(node: Any, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    weight = arrays[node.input[1]]
    if not onnx_io.attribute(node, "transB", 0):
        weight = weight.T  # stored (in, out)
    return np.ascontiguousarray(weight), arrays[node.input[2]]
