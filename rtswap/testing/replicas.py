"""Small model files of the layouts rtswap loads, with random weights: no checkpoint can be
downloaded in tests, so they are built here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rtswap.engines.inswapper.replica import write_replica

NARROW = (8, 16, 32, 64)
"""inswapper's layout at 1/16 of its width: same graph, fast on a CPU."""
_ZERO = numpy_helper.from_array(np.array(0.0, np.float32), "zero")


def write_arcface(path: Path, seed: int = 0) -> Path:
    """An ArcFace-shaped ONNX: one [N,3,112,112] input, a 512-d output (conv, pool, Gemm)."""
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.05, (32, 3, 8, 8)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 0.3, (32 * 4, 512)).astype(np.float32), "fc_w"),
        numpy_helper.from_array(np.zeros(512, np.float32), "fc_b"),
        numpy_helper.from_array(np.array([0, -1], np.int64), "flat"),
    ]
    nodes = [
        helper.make_node("Conv", ["input.1", "conv_w"], ["c"], strides=[8, 8]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[7, 7], strides=[7, 7]),  # 14 -> 2
        helper.make_node("Reshape", ["p", "flat"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["embedding"]),
    ]
    graph = helper.make_graph(
        nodes,
        "arcface",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 512])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def write_models(folder: Path, seed: int = 0) -> Path:
    """A models folder with a narrow inswapper_128.onnx and a small w600k_r50.onnx."""
    folder.mkdir(parents=True, exist_ok=True)
    write_replica(folder / "inswapper_128.onnx", NARROW, seed)
    write_arcface(folder / "w600k_r50.onnx", seed)
    return folder


def write_swapper(
    path: Path, size: int = 64, mask: bool = True, target: str = "target", seed: int = 0
) -> Path:
    """A small identity-conditioned swapper of the generic kind: ``target`` [1,3,S,S] in [-1, 1]
    and ``source`` [1,512] in; ``output`` [1,3,S,S] in [-1, 1] (a smooth texture of its own, as a
    face is, scaled per channel by the source, over a trace of the target) and, with ``mask``,
    ``mask`` [1,1,S,S] in [0, 1] out."""
    rng = np.random.default_rng(seed)
    weights = [
        numpy_helper.from_array(rng.normal(0, 0.05, (3, 3, 3, 3)).astype(np.float32), "conv_w"),
        numpy_helper.from_array(rng.normal(0, 3.0, (512, 3)).astype(np.float32), "id_w"),
        numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "shape"),
        numpy_helper.from_array(_smoothed(rng.normal(0, 1.0, (1, 3, size, size))), "texture"),
        numpy_helper.from_array(rng.normal(0, 0.3, (1, 3, 1, 1)).astype(np.float32), "mask_w"),
    ]
    nodes = [
        helper.make_node("Conv", [target, "conv_w"], ["features"], pads=[1, 1, 1, 1]),
        helper.make_node("MatMul", ["source", "id_w"], ["scale"]),
        helper.make_node("Reshape", ["scale", "shape"], ["scale4"]),
        helper.make_node("Mul", ["texture", "scale4"], ["own"]),
        helper.make_node("Add", ["features", "own"], ["mixed"]),
        helper.make_node("Tanh", ["mixed"], ["output"]),
    ]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])]
    if mask:
        nodes += [
            helper.make_node("Conv", [target, "mask_w"], ["mask_logits"]),
            helper.make_node("Sigmoid", ["mask_logits"], ["mask"]),
        ]
        outputs.append(helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, size, size]))
    inputs = [  # the source first: the card, not the order, says which is which
        helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 512]),
        helper.make_tensor_value_info(target, TensorProto.FLOAT, [1, 3, size, size]),
    ]
    graph = helper.make_graph(nodes, "swapper", inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _smoothed(noise: np.ndarray) -> np.ndarray:
    """(1, 3, S, S) white ``noise`` blurred to blobs of about an eighth of S, at unit spread."""
    size = noise.shape[-1]
    blobs = np.stack([cv2.GaussianBlur(channel, (0, 0), size / 16) for channel in noise[0]])[None]
    return (blobs / blobs.std()).astype(np.float32)


def write_converter(path: Path, seed: int = 0) -> Path:
    """An embedding converter: [N,512] -> [N,512] (a linear map)."""
    rng = np.random.default_rng(seed)
    matrix = numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(512), (512, 512)).astype(np.float32), "m")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["input", "m"], ["output"])],
        "converter",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 512])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 512])],
        [matrix],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def card(engine: str, file: str, size: int = 64, mask: bool = True, converter: str = "") -> str:
    """A generic swapper's model card (TOML) for the swappers above."""
    lines = [
        f'engine = "{engine}"',
        'role = "swapper"',
        f'file = "{file}"',
        'layout = "card"',
        'get = "made by the tests"',
        "[swapper]",
        f"size = {size}",
        'template = "arcface_112_v1"',
        'target = "target"',
        'source = "source"',
        'output = "output"',
        "mean = [0.5, 0.5, 0.5]",
        "std = [0.5, 0.5, 0.5]",
        'identity = "w600k_r50.onnx"',
        'embedding = "normalised"',
    ]
    if mask:
        lines.append('mask = "mask"')
    if converter:
        lines.append(f'converter = "{converter}"')
    return "\n".join(lines) + "\n"


def write_simswap(path: Path, size: int, width: int = 8, seed: int = 0) -> Path:
    """A SimSwap generator state dict with the official key names, ``width`` channels at the
    first downsample (64 in the 224 release), random weights and batch-norm statistics."""
    import torch

    from rtswap.engines.simswap.model import SimSwapGenerator

    torch.manual_seed(seed)
    generator = SimSwapGenerator(size, blocks=9, width=width)
    for module in generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            assert module.running_mean is not None and module.running_var is not None  # tracked stats
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    torch.save(generator.state_dict(), path)
    return path


def write_simswap_arcface_pickle(path: Path, seed: int = 0) -> Path:
    """SimSwap's ArcFace as its release is: a pickled whole network in ``{'model': ...}``."""
    import torch

    from rtswap.engines.simswap.model import ArcFaceResNet

    torch.manual_seed(seed)
    torch.save({"model": ArcFaceResNet((1, 1, 1, 1), width=16).eval(), "epoch": 1}, path)
    return path


def write_restorer(path: Path, size: int = 512, pattern: bool = False, weight: bool = False) -> Path:
    """A face restorer's I/O (FaceFusion's): ``input`` [1,3,S,S] in [-1, 1] (and with ``weight``,
    CodeFormer's float64 [1] fidelity), ``output`` [1,3,S,S]. It returns its input, or with
    ``pattern`` stripes a sixteenth of the crop wide (wide enough to come through the composite,
    which takes the face's shading from the target, and the camera's blur); with ``weight`` w, w
    of its input and 1 - w of those stripes."""
    stripes = np.where(np.arange(size) // (size // 16) % 2, 0.8, -0.8).astype(np.float32)
    texture = np.broadcast_to(stripes[None, None, :, None], (1, 3, size, size)).copy()
    weights = [numpy_helper.from_array(texture, "texture"), _ZERO]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])]
    if weight:
        inputs.append(helper.make_tensor_value_info("weight", TensorProto.DOUBLE, [1]))
        weights.append(numpy_helper.from_array(np.array(1.0, np.float32), "one"))
        nodes = [
            helper.make_node("Cast", ["weight"], ["w"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["input", "w"], ["kept"]),
            helper.make_node("Sub", ["one", "w"], ["rest"]),
            helper.make_node("Mul", ["texture", "rest"], ["drawn"]),
            helper.make_node("Add", ["kept", "drawn"], ["output"]),
        ]
    elif pattern:
        nodes = [
            helper.make_node("Mul", ["input", "zero"], ["none"]),
            helper.make_node("Add", ["none", "texture"], ["output"]),
        ]
    else:
        nodes = [helper.make_node("Identity", ["input"], ["output"])]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])
    return _save(path, nodes, inputs, [output], weights)


def write_occluder(path: Path, visible: np.ndarray) -> Path:
    """An occluder model's I/O (XSeg, as FaceFusion feeds it): ``input`` [1,S,S,3], ``output``
    [1,S,S,1]; whatever the crop, it answers ``visible`` (S x S, 1 = the face is seen there)."""
    size = visible.shape[0]
    answer = numpy_helper.from_array(visible.astype(np.float32)[None, :, :, None], "answer")
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["grey"], axes=[3], keepdims=1),
        helper.make_node("Mul", ["grey", "zero"], ["none"]),
        helper.make_node("Add", ["none", "answer"], ["output"]),
    ]
    return _save(
        path,
        nodes,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, size, size, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, size, size, 1])],
        [answer, _ZERO],
    )


def write_parser(path: Path, labels: np.ndarray, classes: int = 19) -> Path:
    """A face parser's I/O (BiSeNet, as FaceFusion feeds it): ``input`` [1,3,S,S], ``output``
    [1,C,S,S] logits; whatever the crop, its argmax is ``labels`` (S x S class ids)."""
    size = labels.shape[0]
    logits = (np.arange(classes)[:, None, None] == labels[None]).astype(np.float32)[None] * 10
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["grey"], axes=[1], keepdims=1),
        helper.make_node("Mul", ["grey", "zero"], ["none"]),
        helper.make_node("Add", ["none", "logits"], ["output"]),
    ]
    return _save(
        path,
        nodes,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, classes, size, size])],
        [numpy_helper.from_array(logits, "logits"), _ZERO],
    )


def _save(path: Path, nodes: list[Any], inputs: list[Any], outputs: list[Any], weights: list[Any]) -> Path:
    """An opset-13 ONNX of these nodes, written to ``path``."""
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
