"""A plugin's ONNX file as a runner: checked against its card first, then run as it is."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from rtswap.engines.models import FileStatus
from rtswap.runtime.base import Runner
from rtswap.runtime.module import OnnxFile, make_runner
from rtswap.weights.cards import ModelCard
from rtswap.weights.plugin_io import check_file


def plugin_runner(
    card: ModelCard,
    found: FileStatus,
    device: torch.device,
    backend: str,
    build: Path,
    inputs: Sequence[str],
    example: Sequence[torch.Tensor],
) -> Runner:
    """``found`` (the card's file, whose batch is 1) fed ``inputs`` in order, returning its
    card's ``output``; one line if the file is not what its card says. ``example``: one set of
    inputs, for the warm-up; ``build``: where TensorRT plans go."""
    check_file(found.path, card)
    output = (card.restorer or card.mask)["output"]
    onnx = OnnxFile(found.path, found.sha256, build, inputs=inputs, outputs=[output], max_batch=1)
    return make_runner(backend, device, "fp32", torch.float32, example, onnx=onnx)
