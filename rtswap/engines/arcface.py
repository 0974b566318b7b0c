"""ArcFace identity embeddings (insightface's ``w600k_r50.onnx``) through onnxruntime.

Run only when a source is prepared, never per frame. Faces are aligned to the ArcFace 112
template, RGB, scaled (x − 127.5) / 127.5 unless the graph starts with its own Sub and Mul (then
it takes raw pixels, as insightface detects).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from rtswap.engines import onnx_io
from rtswap.errors import ModelLoadError
from rtswap.runtime.onnxruntime import OnnxRuntimeRunner

SIZE = 112


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

    def embed(self, faces: torch.Tensor) -> torch.Tensor:
        """faces: (B, 3, 112, 112) float [0, 1] RGB aligned to the ArcFace template.
        Returns (B, 512) float32 raw (not normalised) embeddings on the CPU."""
        pixels = faces.detach().cpu().float() * 255.0
        return self._runner(pixels if self.raw_pixels else (pixels - 127.5) / 127.5)


def _normalises_itself(model: Any) -> bool:
    first = {node.op_type for node in model.graph.node[:8]}
    return {"Sub", "Mul"} <= first


def arcface_window(crops: torch.Tensor, template_size: int) -> torch.Tensor:
    """The ArcFace 112 crop inside crops aligned to the ArcFace template at ``template_size``
    (a multiple of 128): that template is the 112 one scaled by size/128 and shifted right by
    8·size/128, so the 112 crop is the window [0, 112·s) x [8·s, 120·s) with s = size/128."""
    scale = template_size // 128
    window = crops[:, :, : 112 * scale, 8 * scale : 120 * scale]
    if scale == 1:
        return window
    return F.interpolate(window, size=(SIZE, SIZE), mode="bilinear", antialias=True, align_corners=False)
