"""Reading ONNX files as data: graphs, initializers and input shapes, with one-line errors.

The ``onnx`` package only parses the protobuf: nothing in a file is executed when it is read.
Weights a file keeps in external data files are read only from regular files in the model's own
folder, in the sizes their tensors declare (``onnx.load`` itself follows any path and symlink).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rtswap.errors import DependencyError, ModelLoadError, require_file


def onnx_module() -> Any:
    """The ``onnx`` package, or a one-line error naming the extra that installs it."""
    try:
        import onnx
    except ImportError:
        raise DependencyError("reading ONNX model files needs onnx: pip install -e '.[neural]'") from None
    return onnx


def load(path: Path) -> Any:
    """The ``onnx.ModelProto`` in ``path``; a missing, truncated or non-ONNX file is one line."""
    onnx = onnx_module()
    require_file(path, ModelLoadError)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError and friends
        raise ModelLoadError(
            f"{path}: not a readable ONNX file (truncated or another format: {type(exc).__name__})"
        ) from None
    if not model.graph.node:
        raise ModelLoadError(f"{path}: not a readable ONNX file (no graph; truncated or another format)")
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            _read_external(tensor, path)
    return model


def external_files(path: Path) -> list[str]:
    """The external data files an ONNX file's weights are kept in (none for a single file)."""
    onnx = onnx_module()
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # not an ONNX file: it has none
        return []
    return sorted(
        {
            entry.value
            for tensor in model.graph.initializer
            if tensor.data_location == onnx.TensorProto.EXTERNAL
            for entry in tensor.external_data
            if entry.key == "location"
        }
    )


def _read_external(tensor: Any, path: Path) -> None:
    """Fill ``tensor`` from its external data file, which must be a regular file (not a link) in
    ``path``'s folder holding exactly the bytes its shape and type declare."""
    onnx = onnx_module()
    info = {entry.key: entry.value for entry in tensor.external_data}
    folder = path.parent.resolve()
    location = path.parent / info.get("location", "")
    size = (
        int(np.prod(tensor.dims)) * np.dtype(onnx.helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    )
    offset, length = int(info.get("offset", 0)), int(info.get("length", size))
    if location.is_symlink() or not location.is_file() or location.resolve().parent != folder:
        raise ModelLoadError(
            f"{path}: its weights {tensor.name!r} point at {info.get('location')!r}, which is not a file "
            "beside the model (rtswap reads external data only from its own folder, not through links)"
        )
    if length != size or offset + length > location.stat().st_size:
        raise ModelLoadError(
            f"{path}: its weights {tensor.name!r} declare {length} bytes at {offset} of "
            f"{location.name}, not the {size} their shape needs within the file"
        )
    with open(location, "rb") as data:
        data.seek(offset)
        tensor.raw_data = data.read(length)
    tensor.data_location = onnx.TensorProto.DEFAULT
    del tensor.external_data[:]


@dataclass(frozen=True)
class Port:
    """A graph input or output: its name and shape (None for a symbolic dimension)."""

    name: str
    shape: tuple[int | None, ...]


def _port(value: Any) -> Port:
    dims = value.type.tensor_type.shape.dim
    return Port(value.name, tuple(d.dim_value if d.HasField("dim_value") else None for d in dims))


def inputs(model: Any) -> list[Port]:
    """The graph's real inputs (older files also list their initializers as inputs)."""
    weights = {i.name for i in model.graph.initializer}
    return [_port(v) for v in model.graph.input if v.name not in weights]


def outputs(model: Any) -> list[Port]:
    return [_port(v) for v in model.graph.output]


def shapes(model: Any) -> tuple[dict[str, tuple[int | None, ...]], dict[str, tuple[int | None, ...]]]:
    """The declared shapes of the graph's inputs and of its outputs, by name."""
    return {p.name: p.shape for p in inputs(model)}, {p.name: p.shape for p in outputs(model)}


def initializers(model: Any) -> dict[str, np.ndarray]:
    """Every initializer as a float32 (or integer) array, by name."""
    helper = onnx_module().numpy_helper
    arrays = {}
    for tensor in model.graph.initializer:
        array = helper.to_array(tensor)
        arrays[tensor.name] = array.astype(np.float32) if array.dtype in (np.float16, np.float64) else array
    return arrays


def attribute(node: Any, name: str, default: Any) -> Any:
    for attr in node.attribute:
        if attr.name == name:
            return onnx_module().helper.get_attribute_value(attr)
    return default


def is_arcface(model: Any) -> bool:
    """One 3x112x112 image in, a 512-d embedding out: an ArcFace recognition model's layout."""
    ins, outs = inputs(model), outputs(model)
    return (
        len(ins) == 1
        and ins[0].shape[1:] == (3, 112, 112)
        and len(outs) == 1
        and outs[0].shape[-1:] == (512,)
    )


def is_converter(model: Any) -> bool:
    """One batch of 512-d embeddings in, one out: an embedding converter's layout (not an image
    model that happens to be 512 px wide)."""
    ins, outs = inputs(model), outputs(model)
    return (
        len(ins) == 1
        and len(ins[0].shape) == 2
        and ins[0].shape[-1] == 512
        and len(outs) == 1
        and len(outs[0].shape) == 2
        and outs[0].shape[-1] == 512
    )


def describe(model: Any) -> str:
    """Inputs and outputs in a few words, for error messages."""
    ins = ", ".join(f"{p.name} {_dims(p.shape)}" for p in inputs(model))
    outs = ", ".join(f"{p.name} {_dims(p.shape)}" for p in outputs(model))
    return f"inputs {ins or 'none'}; outputs {outs or 'none'}"


def _dims(shape: tuple[int | None, ...]) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"
