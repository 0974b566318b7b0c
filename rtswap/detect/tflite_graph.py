"""A TensorFlow Lite model file run as PyTorch operations, batched, on any device.

The ``.tflite`` files that the mediapipe wheel ships are read with the ``tflite`` package (the
flatbuffer schema's generated Python; the file is data, nothing in it executes). Constant weights
are decoded once (float16 dequantised, sparse tensors densified); the operators then run in the
file's order as PyTorch calls on NCHW activations. Only the operators the face models use are
implemented; any other is refused by name when the file is loaded.

Everything about an operator but its tensors is read from the file once, when it is loaded: the
flatbuffer's accessors are Python calls, and reading them per run was a third of a run's host
time (the face mesh's file has 341 operators). On a GPU the host's time per PyTorch call, not the
arithmetic, is what a run costs, so each operator is as few calls as it can be: a PReLU is one,
and a SAME padding that is the same on both sides is the convolution's own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tflite
import torch
import torch.nn.functional as F
from flatbuffers import flexbuffers

from rtswap.errors import InputError

_DTYPES = {
    tflite.TensorType.FLOAT32: np.float32,
    tflite.TensorType.FLOAT16: np.float16,
    tflite.TensorType.INT32: np.int32,
}
_ACTIVATIONS: dict[int, Callable[[torch.Tensor], torch.Tensor]] = {
    tflite.ActivationFunctionType.NONE: lambda x: x,
    tflite.ActivationFunctionType.RELU: F.relu,
    tflite.ActivationFunctionType.RELU6: lambda x: x.clamp(0, 6),
}
_OPERATORS = {value: name for name, value in vars(tflite.BuiltinOperator).items() if not name.startswith("_")}
_SUPPORTED = {
    *("ADD", "CONV_2D", "DEPTH_TO_SPACE", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "MUL", "PAD", "PRELU"),
    *("RESHAPE", "RESIZE_BILINEAR", "STRIDED_SLICE"),
    *("Landmarks2TransformMatrix", "TransformLandmarks", "TransformTensorBilinear"),  # mediapipe's own
}
"""The operators :class:`TfliteGraph` runs, each as its method ``_`` + the name in lower case."""


@dataclass
class _Op:
    name: str
    inputs: list[int]
    """Tensor ids: activations, then weights and other constants (constant integer arguments are
    in ``params``)."""
    outputs: list[int]
    options: dict[str, Any]
    """The operator's options as plain values (:func:`_options`; a custom operator's, as stored)."""
    params: list[int]
    """A PAD's paddings or a RESIZE's size, flattened."""
    run: Callable[..., torch.Tensor] = field(init=False, repr=False)
    """``TfliteGraph``'s method for it (unbound)."""

    def __post_init__(self) -> None:
        self.run = getattr(TfliteGraph, f"_{self.name.lower()}")


class TfliteGraph(torch.nn.Module):
    """One subgraph of a ``.tflite`` file. ``forward`` takes the inputs as NCHW float tensors
    (batched: the file's batch of 1 becomes any) and returns the outputs, NCHW where the file's
    are 4-D images and as the file shapes them (with the batch first) otherwise."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
        graph = model.Subgraphs(0)
        self._shapes = {i: graph.Tensors(i).ShapeAsNumpy().tolist() for i in range(graph.TensorsLength())}
        stored = {i: _constant(model, graph.Tensors(i)) for i in range(graph.TensorsLength())}
        constants = {i: c for i, c in stored.items() if c is not None}
        added = itertools.count(len(self._shapes))  # ids for constants of ours, after the file's
        self._ops: list[_Op] = []
        for k in range(graph.OperatorsLength()):
            op = graph.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            name = _OPERATORS.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            if code.CustomCode():
                name = code.CustomCode().decode()
                if code.Version() != 2:  # mediapipe's attention operators, as their version 2
                    raise InputError(
                        f"{path.name}: operator {name} version {code.Version()} is not supported"
                    )
            inputs, outputs = op.InputsAsNumpy().tolist(), op.OutputsAsNumpy().tolist()
            if name in ("DEQUANTIZE", "DENSIFY") and inputs[0] in constants:  # decoded already
                constants[outputs[0]] = constants[inputs[0]]
                continue
            if name not in _SUPPORTED:
                raise InputError(f"{path.name}: operator {name} is not supported")
            constant = [i for i in inputs if i in constants and constants[i].dtype == np.int32]
            params = [int(v) for i in constant for v in constants[i].ravel()]
            inputs = [i for i in inputs if i >= 0 and i not in constant]
            options = _custom_options(op) if code.CustomCode() else _options(op, name)
            if name == "Landmarks2TransformMatrix":  # its landmarks' indices as a constant input: on
                inputs.append(next(added))  # the device with the weights, indexing copies nothing
                constants[inputs[-1]] = np.array(options["subset_idxs"], np.int64)
            self._ops.append(_Op(name, inputs, outputs, options, params))
        self._inputs = graph.InputsAsNumpy().tolist()
        self._outputs = graph.OutputsAsNumpy().tolist()
        layouts = {op.inputs[1]: op.name for op in self._ops if op.name in ("CONV_2D", "DEPTHWISE_CONV_2D")}
        alphas = {op.inputs[1] for op in self._ops if op.name == "PRELU"}
        for i in sorted({i for op in self._ops for i in op.inputs} & constants.keys()):
            ours = i >= len(self._shapes)
            value = torch.from_numpy(constants[i] if ours else constants[i].astype(np.float32))
            if i in layouts:  # OHWI -> OIHW; depthwise (1, H, W, C) -> (C, 1, H, W)
                value = value.permute(0, 3, 1, 2) if layouts[i] == "CONV_2D" else value.permute(3, 0, 1, 2)
            if i in alphas:  # one slope per channel, as F.prelu takes them
                value = value.reshape(-1)
            self.register_buffer(f"t{i}", value.contiguous())

    def custom_options(self, name: str) -> list[dict[str, Any]]:
        """The options of each custom operator called ``name``, in the file's order."""
        return [op.options for op in self._ops if op.name == name]

    def forward(self, *inputs: torch.Tensor) -> list[torch.Tensor]:
        values: dict[int, torch.Tensor] = {
            int(name[1:]): t for name, t in self._buffers.items() if t is not None
        }
        values.update(zip(self._inputs, inputs, strict=True))
        for op in self._ops:
            values[op.outputs[0]] = op.run(self, op, *(values[i] for i in op.inputs))
        return [values[i] for i in self._outputs]

    def _conv_2d(self, op: _Op, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        o = op.options
        x, padding = _same_padding(x, weight.shape[-2:], o["stride"]) if o["same"] else (x, (0, 0))
        y = F.conv2d(x, weight, bias, stride=o["stride"], padding=padding, dilation=o["dilation"])
        return _ACTIVATIONS[o["activation"]](y)

    def _depthwise_conv_2d(
        self, op: _Op, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
    ) -> torch.Tensor:
        o = op.options
        x, padding = _same_padding(x, weight.shape[-2:], o["stride"]) if o["same"] else (x, (0, 0))
        if x.is_cuda:  # PyTorch's own kernel: cuDNN 9 compiles one with NVRTC per new shape, seconds each
            y = torch.ops.aten._conv_depthwise2d(
                x, weight, weight.shape[-2:], bias, o["stride"], padding, (1, 1)
            )
        else:
            y = F.conv2d(x, weight, bias, stride=o["stride"], padding=padding, groups=x.shape[1])
        return _ACTIVATIONS[o["activation"]](y)

    def _pad(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        _, _, top, bottom, left, right, front, back = op.params  # NHWC
        return F.pad(x, (left, right, top, bottom, front, back))

    def _add(self, op: _Op, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return _ACTIVATIONS[op.options["activation"]](a + b)

    def _resize_bilinear(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        if op.options["align_corners"]:
            return F.interpolate(x, size=tuple(op.params), mode="bilinear", align_corners=True)
        if op.options["half_pixel_centers"]:
            return F.interpolate(x, size=tuple(op.params), mode="bilinear", align_corners=False)
        raise InputError("RESIZE_BILINEAR without half-pixel centres or aligned corners is not supported")

    def _depth_to_space(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        block = op.options["block"]
        n, c, h, w = x.shape
        # TFLite's channel order is (block row, block column, channel); pixel_shuffle's is the reverse
        x = x.view(n, block, block, c // block**2, h, w).permute(0, 3, 1, 2, 4, 5).reshape(n, c, h, w)
        return F.pixel_shuffle(x, block)

    def _prelu(self, op: _Op, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return F.prelu(x, alpha)

    def _max_pool_2d(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        o = op.options
        padding = (0, 0)
        if o["same"]:  # padded with -inf: the pool's own padding is, and never wins a max
            x, padding = _same_padding(x, torch.Size(o["kernel"]), o["stride"], value=float("-inf"))
        return _ACTIVATIONS[o["activation"]](F.max_pool2d(x, o["kernel"], o["stride"], padding))

    def _mul(self, op: _Op, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return _ACTIVATIONS[op.options["activation"]](a * b)

    def _strided_slice(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        if op.options["masked"]:
            raise InputError("STRIDED_SLICE with masks is not supported")
        rank = len(op.params) // 3
        begin, end, strides = op.params[:rank], op.params[rank : 2 * rank], op.params[2 * rank :]
        nhwc = x.permute(0, 2, 3, 1) if x.dim() == 4 else x
        index = (
            slice(None),
            *(slice(b, e, s) for b, e, s in zip(begin[1:], end[1:], strides[1:], strict=True)),
        )
        out = nhwc[index]
        return out.permute(0, 3, 1, 2) if x.dim() == 4 else out

    def _landmarks2transformmatrix(
        self, op: _Op, landmarks: torch.Tensor, subset_indices: torch.Tensor
    ) -> torch.Tensor:
        """(B, N, 3) landmarks -> (B, 4, 4): the map from a crop's pixels to the landmarks' frame,
        the crop square to the line from the left to the right landmark, around the subset's
        bounding box scaled by ``scale_x``/``scale_y`` (mediapipe's version 2)."""
        o = op.options
        xy = landmarks[..., :2]
        along = xy[:, o["right_rotation_idx"]] - xy[:, o["left_rotation_idx"]]
        rotation = o["target_rotation_radians"] - torch.atan2(along[:, 1], along[:, 0])
        cos, sin = torch.cos(rotation)[:, None], torch.sin(rotation)[:, None]
        subset = xy[:, subset_indices]
        x = cos * subset[..., 0] - sin * subset[..., 1]  # rotated by the rotation
        y = sin * subset[..., 0] + cos * subset[..., 1]
        width, height = x.amax(1) - x.amin(1), y.amax(1) - y.amin(1)
        mid_x, mid_y = (x.amax(1) + x.amin(1)) / 2, (y.amax(1) + y.amin(1)) / 2
        cos, sin = cos[:, 0], sin[:, 0]
        centre_x, centre_y = cos * mid_x + sin * mid_y, -sin * mid_x + cos * mid_y  # rotated back
        scale_x = o["scale_x"] * width / o["output_width"]
        scale_y = o["scale_y"] * height / o["output_height"]
        shift_x, shift_y = -o["output_width"] / 2.0, -o["output_height"] / 2.0
        # shift(centre) @ rotate(-rotation) @ scale @ shift(-output / 2)
        matrix = landmarks.new_zeros(len(landmarks), 4, 4)
        matrix[:, 0, 0], matrix[:, 0, 1] = cos * scale_x, sin * scale_y
        matrix[:, 1, 0], matrix[:, 1, 1] = -sin * scale_x, cos * scale_y
        matrix[:, 0, 3] = cos * scale_x * shift_x + sin * scale_y * shift_y + centre_x
        matrix[:, 1, 3] = -sin * scale_x * shift_x + cos * scale_y * shift_y + centre_y
        matrix[:, 2, 2] = matrix[:, 3, 3] = 1.0
        return matrix

    def _transformtensorbilinear(self, op: _Op, x: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """Sample ``x`` (B, C, H, W) at the crop's pixel centres mapped by ``matrix``; zero where
        that falls outside the input (mediapipe's version 2)."""
        height, width = op.options["output_height"], op.options["output_width"]
        ys, xs = torch.meshgrid(
            torch.arange(height, dtype=x.dtype, device=x.device) + 0.5,
            torch.arange(width, dtype=x.dtype, device=x.device) + 0.5,
            indexing="ij",
        )
        px = (
            matrix[:, 0, 0, None, None] * xs
            + matrix[:, 0, 1, None, None] * ys
            + matrix[:, 0, 3, None, None]
            - 0.5
        )
        py = (
            matrix[:, 1, 0, None, None] * xs
            + matrix[:, 1, 1, None, None] * ys
            + matrix[:, 1, 3, None, None]
            - 0.5
        )
        in_h, in_w = x.shape[-2:]
        inside = (px >= 0) & (px <= in_w - 1) & (py >= 0) & (py <= in_h - 1)
        grid = torch.stack([px / (in_w - 1) * 2 - 1, py / (in_h - 1) * 2 - 1], dim=-1)
        sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)
        return sampled * inside[:, None]

    def _transformlandmarks(self, op: _Op, landmarks: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
        """(B, N, 2 or 3) landmarks mapped by the 2D part of ``matrix`` (depth kept)."""
        xy = landmarks[..., :2] @ matrix[:, :2, :2].transpose(1, 2) + matrix[:, None, :2, 3]
        return torch.cat([xy, landmarks[..., 2:]], dim=-1)

    def _reshape(self, op: _Op, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            x = x.permute(0, 2, 3, 1)  # the file's reshapes read NHWC order
        return x.reshape(x.shape[0], *self._shapes[op.outputs[0]][1:])


def _same_padding(
    x: torch.Tensor, kernel: torch.Size, stride: tuple[int, int], value: float = 0.0
) -> tuple[torch.Tensor, tuple[int, int]]:
    """TensorFlow's SAME padding (the extra pixel, if any, at the bottom and right): ``x`` and
    the (height, width) padding left for the convolution or pool to add on both sides; ``x`` is
    padded here, with ``value``, only where the two sides differ."""
    pads = []
    for size, k, s in ((x.shape[-1], kernel[1], stride[1]), (x.shape[-2], kernel[0], stride[0])):
        total = max((-(-size // s) - 1) * s + k - size, 0)
        pads += [total // 2, total - total // 2]
    left, right, top, bottom = pads
    if left == right and top == bottom:
        return x, (top, left)
    return F.pad(x, pads, value=value), (0, 0)


def _custom_options(op: Any) -> dict[str, Any]:
    data = op.CustomOptionsAsNumpy()
    return {} if isinstance(data, int) else flexbuffers.Loads(data.tobytes())


def _options(op: Any, name: str) -> dict[str, Any]:
    """What the operator's methods read of its builtin options, read out of the flatbuffer."""
    table = op.BuiltinOptions()
    kinds = {
        "CONV_2D": tflite.Conv2DOptions,
        "DEPTHWISE_CONV_2D": tflite.DepthwiseConv2DOptions,
        "ADD": tflite.AddOptions,
        "RESIZE_BILINEAR": tflite.ResizeBilinearOptions,
        "DEPTH_TO_SPACE": tflite.DepthToSpaceOptions,
        "MAX_POOL_2D": tflite.Pool2DOptions,
        "MUL": tflite.MulOptions,
        "STRIDED_SLICE": tflite.StridedSliceOptions,
    }
    if table is None or name not in kinds:
        return {}
    o = kinds[name]()
    o.Init(table.Bytes, table.Pos)
    if name == "RESIZE_BILINEAR":
        return {"align_corners": o.AlignCorners(), "half_pixel_centers": o.HalfPixelCenters()}
    if name == "DEPTH_TO_SPACE":
        return {"block": o.BlockSize()}
    if name == "STRIDED_SLICE":
        masks = (o.BeginMask(), o.EndMask(), o.ShrinkAxisMask(), o.EllipsisMask(), o.NewAxisMask())
        return {"masked": any(masks)}
    read = {"activation": o.FusedActivationFunction()}
    if name in ("CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D"):
        read |= {"stride": (o.StrideH(), o.StrideW()), "same": o.Padding() == tflite.Padding.SAME}
    if name == "CONV_2D":
        read["dilation"] = (o.DilationHFactor(), o.DilationWFactor())
    if name == "MAX_POOL_2D":
        read["kernel"] = (o.FilterHeight(), o.FilterWidth())
    return read


def _constant(model: Any, tensor: Any) -> np.ndarray | None:
    """The tensor's stored value (densified if sparse), or None if it is computed."""
    data = model.Buffers(tensor.Buffer()).DataAsNumpy()
    if isinstance(data, int) or data.size == 0:
        return None
    values = np.frombuffer(data.tobytes(), _DTYPES[tensor.Type()])
    shape = tensor.ShapeAsNumpy().tolist()
    sparsity = tensor.Sparsity()
    return values.reshape(shape) if sparsity is None else _densified(values, shape, sparsity)


def _densified(values: np.ndarray, shape: list[int], sparsity: Any) -> np.ndarray:
    """TFLite's sparse format, for dense and CSR dimensions in the tensor's own order (the only
    kind the face models use)."""
    if (
        not np.array_equal(sparsity.TraversalOrderAsNumpy(), np.arange(len(shape)))
        or sparsity.BlockMapLength()
    ):
        raise InputError("sparse tensors with blocks or a reordered traversal are not supported")
    dims = [sparsity.DimMetadata(d) for d in range(sparsity.DimMetadataLength())]
    dense = np.zeros(int(np.prod(shape)), values.dtype)
    # walk the dimensions: positions into the stored values, and flat indices into the dense tensor
    positions, flat = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for size, dim in zip(shape, dims, strict=True):
        if dim.Format() == tflite.DimensionType.DENSE:
            positions = (positions[:, None] * size + np.arange(size)).ravel()
            flat = (flat[:, None] * size + np.arange(size)).ravel()
        else:
            segments, indices = (
                _index_vector(dim.ArraySegments(), dim.ArraySegmentsType()),
                _index_vector(dim.ArrayIndices(), dim.ArrayIndicesType()),
            )
            counts = segments[positions + 1] - segments[positions]
            starts = np.repeat(segments[positions], counts)
            within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
            positions = starts + within
            flat = np.repeat(flat, counts) * size + indices[positions]
    dense[flat] = values[positions]
    return dense.reshape(shape)


def _index_vector(table: Any, kind: int) -> np.ndarray:
    vector = {
        tflite.SparseIndexVector.Int32Vector: tflite.Int32Vector,
        tflite.SparseIndexVector.Uint16Vector: tflite.Uint16Vector,
        tflite.SparseIndexVector.Uint8Vector: tflite.Uint8Vector,
    }[kind]()
    vector.Init(table.Bytes, table.Pos)
    return vector.ValuesAsNumpy().astype(np.int64)
