"""What a plugin's card promises about its ONNX file, checked before anything runs: a face
restorer's ``[restorer]`` table (:mod:`rtswap.plugins.restorers`), a mask model's ``[mask]``
table (:mod:`rtswap.plugins.masks`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rtswap.errors import ModelLoadError
from rtswap.weights import onnx_io

if TYPE_CHECKING:
    from rtswap.weights.cards import ModelCard


def restorer_mismatch(model: Any, card: ModelCard) -> str | None:
    """None if the file's declared inputs and outputs are the card's, else what differs."""
    spec = card.restorer
    size = int(spec["size"])
    ins, outs = onnx_io.shapes(model)
    wanted = {spec["input"]: (3, size, size), **({spec["weight"]: (1,)} if spec.get("weight") else {})}
    if set(ins) != set(wanted):
        return f"inputs {', '.join(ins) or 'none'}, the card names {', '.join(wanted)}"
    for name, shape in wanted.items():
        if ins[name][-len(shape) :] != shape:
            return f"input {name!r} is {list(ins[name])}, the card says [..., {', '.join(map(str, shape))}]"
    output = spec["output"]
    if output not in outs:
        return f"no output {output!r} (outputs: {', '.join(outs) or 'none'})"
    if outs[output][-3:] != (3, size, size):
        return f"output {output!r} is {list(outs[output])}, the card says [..., 3, {size}, {size}]"
    return None


def mask_mismatch(model: Any, card: ModelCard) -> str | None:
    """None if the file's declared input and output are the card's, else what differs."""
    spec = card.mask
    size = int(spec["size"])
    image = (size, size, 3) if spec["layout"] == "nhwc" else (3, size, size)
    ins, outs = onnx_io.shapes(model)
    if set(ins) != {spec["input"]}:
        return f"inputs {', '.join(ins) or 'none'}, the card names {spec['input']}"
    declared = ins[spec["input"]]
    if declared[-3:] != image:
        return (
            f"input {spec['input']!r} is {list(declared)}, the card says [..., {', '.join(map(str, image))}]"
        )
    output = spec["output"]
    if output not in outs:
        return f"no output {output!r} (outputs: {', '.join(outs) or 'none'})"
    wanted = (size, size, 1) if spec["kind"] == "occlusion" else (int(spec["classes"]), size, size)
    if outs[output][-3:] != wanted:
        return (
            f"output {output!r} is {list(outs[output])}, the card says [..., {', '.join(map(str, wanted))}]"
        )
    return None


def check_file(path: Path, card: ModelCard) -> None:
    """A plugin's ONNX file at ``path`` against its card: one line if it is not what the card says."""
    mismatch = restorer_mismatch if card.role == "restorer" else mask_mismatch
    problem = mismatch(onnx_io.load(path), card)
    if problem is not None:
        raise ModelLoadError(f"{path}: does not match its card ({card.engine}): {problem}")
