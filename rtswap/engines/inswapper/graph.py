"""inswapper-128 written as an ONNX graph from its weights.

Two forms, from one builder:

- ``source_path=True``: the file's own layout (inputs ``target`` [1,3,128,128] and ``source``
  [1,512], the 12 Gemms inside, ``emap`` the last initializer). The tests build their replicas
  of the user's checkpoint this way, at reduced width.
- ``source_path=False``: the per-frame target path only (inputs ``target`` [N,3,128,128] and
  ``styles`` [12,2C]), what TensorRT builds its plan from. Checked against the PyTorch module
  with onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rtswap.engines.inswapper.layout import LATENT, Conv, InswapperWeights
from rtswap.weights.onnx_io import onnx_module

OPSET = 13


class _Builder:
    def __init__(self) -> None:
        self.onnx = onnx_module()
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self._count = 0

    def name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def const(self, array: np.ndarray, prefix: str = "w") -> str:
        name = self.name(prefix)
        self.weights.append(self.onnx.numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        out = self.name(op_type)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, conv: Conv) -> str:
        p = conv.padding
        return self.op(
            "Conv",
            [x, self.const(conv.weight), self.const(conv.bias)],
            strides=[conv.stride] * 2,
            pads=[p, p, p, p],
            kernel_shape=list(conv.weight.shape[2:]),
        )

    def reflect(self, x: str, pad: int) -> str:
        return self.op(
            "Pad",
            [x, self.const(np.array([0, 0, pad, pad, 0, 0, pad, pad], np.int64), "pads")],
            mode="reflect",
        )

    def lrelu(self, x: str) -> str:
        return self.op("LeakyRelu", [x], alpha=0.2)

    def upsample(self, x: str) -> str:
        scales = self.const(np.array([1.0, 1.0, 2.0, 2.0], np.float32), "scales")
        return self.op("Resize", [x, "", scales], mode="linear", coordinate_transformation_mode="half_pixel")

    def normalise(self, x: str) -> str:
        centred = self.op("Sub", [x, self.op("ReduceMean", [x], axes=[2, 3], keepdims=1)])
        power = self.op("ReduceMean", [self.op("Mul", [centred, centred])], axes=[2, 3], keepdims=1)
        eps = self.const(np.array(1e-8, np.float32), "eps")
        return self.op("Div", [centred, self.op("Sqrt", [self.op("Add", [power, eps])])])

    def modulate(self, x: str, style: str, width: int) -> str:
        """x·γ + β with style (1, 2C) = [γ | β]."""

        def half(start: int) -> str:
            part = self.op(
                "Slice",
                [
                    style,
                    self.const(np.array([start], np.int64), "start"),
                    self.const(np.array([start + width], np.int64), "end"),
                    self.const(np.array([1], np.int64), "axis"),
                ],
            )
            return self.op("Reshape", [part, self.const(np.array([1, width, 1, 1], np.int64), "shape")])

        return self.op("Add", [self.op("Mul", [x, half(0)]), half(width)])


def build(weights: InswapperWeights, source_path: bool) -> Any:
    """The ``onnx.ModelProto`` of inswapper (see the module docstring for the two forms)."""
    g = _Builder()
    helper, float32 = g.onnx.helper, g.onnx.TensorProto.FLOAT
    width = weights.widths[-1]

    def style(k: int) -> str:
        if source_path:
            w, b = weights.style_gemms[k]
            return g.op("Gemm", ["source", g.const(w), g.const(b)], transB=1)
        return g.op("Gather", ["styles", g.const(np.array([k], np.int64), "index")], axis=0)

    x = g.reflect("target", 3)
    for conv in weights.encoder:
        x = g.lrelu(g.conv(x, conv))
    for block in range(len(weights.style_convs) // 2):
        y = x
        for k in (2 * block, 2 * block + 1):
            y = g.modulate(g.normalise(g.conv(g.reflect(y, 1), weights.style_convs[k])), style(k), width)
            y = g.op("Relu", [y]) if k % 2 == 0 else y
        x = g.op("Add", [x, y])
    up1, up2, conv3, to_rgb = weights.decoder
    x = g.lrelu(g.conv(g.upsample(x), up1))
    x = g.lrelu(g.conv(g.upsample(x), up2))
    x = g.lrelu(g.conv(x, conv3))
    x = g.op("Tanh", [g.conv(g.reflect(x, 3), to_rgb)])
    one, two = (g.const(np.array(v, np.float32), "c") for v in (1.0, 2.0))
    g.nodes.append(helper.make_node("Div", [g.op("Add", [x, one]), two], ["output"], name="output"))
    if source_path:
        inputs = [
            helper.make_tensor_value_info("target", float32, [1, 3, 128, 128]),
            helper.make_tensor_value_info("source", float32, [1, LATENT]),
        ]
        g.const(weights.emap, "emap")  # the last initializer, as in the file
        batch: Any = 1
    else:
        inputs = [
            helper.make_tensor_value_info("target", float32, ["batch", 3, 128, 128]),
            helper.make_tensor_value_info("styles", float32, [len(weights.style_convs), 2 * width]),
        ]
        batch = "batch"
    output = helper.make_tensor_value_info("output", float32, [batch, 3, 128, 128])
    graph = helper.make_graph(g.nodes, "inswapper_128", inputs, [output], g.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="rtswap")
    model.ir_version = 8
    return model


def save(model: Any, path: Path) -> None:
    """Write ``model`` to ``path`` (weights inline: files up to 2 GB)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
