"""What a generic swapper's card promises about its ONNX file, checked before anything runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtswap.weights import onnx_io

if TYPE_CHECKING:
    from rtswap.weights.cards import ModelCard


def mismatch(model: Any, card: ModelCard) -> str | None:
    """None if the file's declared inputs and outputs are the card's, else what differs."""
    spec = card.swapper
    size = int(spec["size"])
    ins, outs = onnx_io.shapes(model)
    wanted = {spec["target"]: (3, size, size), spec["source"]: (int(spec.get("source_size", 512)),)}
    for name, shape in wanted.items():
        if name not in ins:
            return f"no input {name!r} (inputs: {', '.join(ins) or 'none'})"
        if ins[name][-len(shape) :] != shape:
            return f"input {name!r} is {list(ins[name])}, the card says [..., {', '.join(map(str, shape))}]"
    for name in (spec["output"], spec.get("mask")):
        if name and name not in outs:
            return f"no output {name!r} (outputs: {', '.join(outs) or 'none'})"
    return None
