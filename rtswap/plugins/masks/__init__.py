"""Mask models (``--mask occlusion``, ``--mask region``): what of a target face is swapped, from
networks the user adds (``rtswap engines add FILE``), each described by a model card in this
folder. ``--mask`` combines, by minimum, any of:

- ``box``: the aligned crop, feathered at its edges, instead of the face mesh's outline;
- ``skin``: what is not skin-coloured and comes in from the face's outline stays on top
  (:mod:`rtswap.blend.occluders.skin`; the default);
- ``occlusion``: an occluder model (DeepFaceLab's XSeg): 1 where the face is visible; with several
  XSeg files installed, where all of them see it;
- ``region``: a face parser (BiSeNet, CelebAMask-HQ's 19 classes): the regions ``--mask-regions``
  names are swapped; glasses and hair are always kept from the target, but for the eyes behind
  clear lenses (parsers label a pair of glasses whole, over the eyes), which are swapped as eyes.

A card's ``[mask]`` table says how to feed and read the file:

    kind = "occlusion"          # occlusion: out (1, S, S, 1), visible in [0, 1]; region: (1, C, S, S) logits
    size = 256                  # the model's crop side, px: the engine's aligned crop, resized
    input = "input"
    output = "output"
    layout = "nhwc"             # nhwc or nchw
    channels = "bgr"            # bgr or rgb
    mean = [0.0, 0.0, 0.0]      # in as (x / 255 - mean) / std
    std = [1.0, 1.0, 1.0]
    classes = 19                # region: the number of classes

Glasses (class 6) and hair (17) are never among the regions swapped: they stay on top. A model
that sees almost none of a face (occluder models can take a whole profile for an occlusion) is set
aside for that face, which falls back to the landmark mask; the log says so once.

This module is the registry's view, importable without torch; the models run in :mod:`.mask_model`.
"""

from __future__ import annotations

ROLE = "mask"
KINDS = ("box", "skin", "occlusion", "region")
REGIONS = {"skin": (1,), "brows": (2, 3), "eyes": (4, 5), "nose": (10,), "mouth": (11,), "lips": (12, 13)}
"""``--mask-regions`` names -> CelebAMask-HQ class ids (as the BiSeNet face parsers number them)."""


def names(kind: str) -> list[str]:
    """The mask models of ``kind`` (occlusion or region): one per card in this folder."""
    from rtswap.weights.cards import all_cards

    return [card.engine for card in all_cards() if card.role == ROLE and card.mask.get("kind") == kind]
