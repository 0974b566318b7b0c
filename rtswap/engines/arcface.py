"""ArcFace identity embeddings (insightface's ``w600k_r50.onnx``) through onnxruntime.

Run only when a source is prepared, never per frame. Faces are aligned to the ArcFace 112
template, RGB, scaled (x − 127.5) / 127.5 unless the graph starts with its own Sub and Mul (then
it takes raw pixels, as insightface detects).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from rtswap.errors import ModelLoadError
from rtswap.geometry.align import ARCFACE_112, Template, realign
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner
from rtswap.weights import onnx_io

SIZE = 112
TEMPLATE = Template(ARCFACE_112, SIZE)
"""What the model embeds: faces aligned to insightface's ArcFace template at 112 px."""


class ArcFace:
    def __init__(self, path: Path) -> None:
        model = onnx_io.load(path)
        if not onnx_io.is_arcface(model):
            what = (
                "a face swapper (two inputs), not an ArcFace recognition model"
                if len(onnx_io.inputs(model)) == 2
                else "not an ArcFace recognition model"
            )
            raise ModelLoadError(
                f"{path}: this is {what}: expected one input [N,3,112,112] and a 512-d output; "
                f"found {onnx_io.describe(model)}"
            )
        self.raw_pixels = _normalises_itself(model)
        self._runner = OnnxRuntimeRunner(path, torch.device("cpu"))

    def embed(self, crops: torch.Tensor, template: Template) -> torch.Tensor:
        """crops: (B, 3, S, S) float [0, 1] RGB faces aligned to ``template``; they are brought to
        the ArcFace template first. Returns (B, 512) float32 raw (not normalised) embeddings on
        the CPU."""
        pixels = realign(crops.detach().cpu().float(), template, TEMPLATE) * 255.0
        return self._runner(pixels if self.raw_pixels else (pixels - 127.5) / 127.5)


def _normalises_itself(model: Any) -> bool:
    first = {node.op_type for node in model.graph.node[:8]}
    return {"Sub", "Mul"} <= first
