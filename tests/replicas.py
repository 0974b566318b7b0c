"""Small model files of the layouts rtswap loads, with random weights: no checkpoint can be
downloaded in tests, so they are built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from rtswap.engines.inswapper.replica import write_replica

NARROW = (8, 16, 32, 64)
"""inswapper's layout at 1/16 of its width: same graph, fast on a CPU."""


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
