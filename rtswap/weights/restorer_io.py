"""What a face restorer's card promises about its ONNX file (its ``[restorer]`` table; see
:mod:`rtswap.plugins.restorers`), checked before anything runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rtswap.weights import onnx_io

if TYPE_CHECKING:
    from rtswap.weights.cards import ModelCard


def mismatch(model: Any, card: ModelCard) -> str | None:
    """None if the file's declared inputs and outputs are the card's, else what differs."""
    spec = card.restorer
    size = int(spec["size"])
    ins = {p.name: p.shape for p in onnx_io.inputs(model)}
    outs = {p.name: p.shape for p in onnx_io.outputs(model)}
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
