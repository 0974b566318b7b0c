"""Any identity-conditioned ONNX swapper, described by a TOML model card (``--engine onnx:NAME``).

A card's ``[swapper]`` table says how to feed and read the file:

    size = 256                     # the model's crop side, px
    template = "arcface_128"       # arcface_112, arcface_112_v1, arcface_128 or ffhq_512
    target = "target"              # input name of the (1, 3, size, size) RGB crop
    source = "source"              # input name of the (1, 512) source embedding
    output = "output"              # output name of the swapped crop
    mask = "mask"                  # optional output name of a (1, 1, size, size) mask in [0, 1]
    mean = [0.5, 0.5, 0.5]         # the crop goes in as (rgb - mean) / std, rgb in [0, 1]
    std = [0.5, 0.5, 0.5]
    denormalise = true             # the output comes back as output * std + mean (else as is)
    identity = "w600k_r50.onnx"    # the ArcFace model that embeds the source
    converter = ""                 # optional model that maps that embedding to the swapper's own
    embedding = "normalised"       # normalised, raw, or emap (inswapper: · the file's emap)
"""

from rtswap.engines.onnx_swapper.engine import OnnxSwapEngine

__all__ = ["OnnxSwapEngine"]
