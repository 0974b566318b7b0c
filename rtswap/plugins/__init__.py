"""Model-backed steps beside the swap engine, run on the user's files: one package each, its model
cards (TOML) beside its code, read with the engines' by :mod:`rtswap.weights.cards`.

- :mod:`.restorers`: face restorers (``--enhancer NAME``), run on the swapped face before the paste;
- :mod:`.masks`: occluder models and face parsers (``--mask occlusion``, ``--mask region``): what
  of a target face is swapped.
"""
