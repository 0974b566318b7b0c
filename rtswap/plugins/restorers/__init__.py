"""Face restorers (``--enhancer NAME``): GFPGAN, CodeFormer, GPEN and RestoreFormer++ as ONNX
files the user adds (``rtswap engines add FILE``), each described by a model card in this folder.

A card's ``[restorer]`` table says how to feed and read the file:

    size = 512                 # the model's crop side, px
    template = "ffhq_512"      # where the face sits in that crop (arcface_128 or ffhq_512)
    input = "input"            # input name of the (1, 3, size, size) RGB crop, (x - 0.5) / 0.5
    output = "output"          # output name of the restored crop, [-1, 1] (clipped)
    weight = "weight"          # optional: a float64 [1] input (CodeFormer's fidelity, --enhancer-fidelity)

A file's layout is checked against that table (:mod:`rtswap.weights.plugin_io`). This module
is the registry's view, importable without torch; the restorer itself is :mod:`.restorer`.
"""

from __future__ import annotations

ROLE = "restorer"


def names() -> list[str]:
    """The restorers ``--enhancer`` takes: one per card in this folder."""
    from rtswap.weights.cards import all_cards

    return [card.engine for card in all_cards() if card.role == ROLE]
