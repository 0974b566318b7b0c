"""The composite shared by all engines: swapped crop -> change to paste into the frame.

One algorithm, two implementations: tensor operations (any device; what runs on CUDA, replayed
there from CUDA graphs, :mod:`~rtswap.blend.composite_tensor`), and OpenCV for tensors on the CPU
(:mod:`~rtswap.blend.composite_cpu`), whose SIMD kernels work on all channels of a pixel at once and
do not pay PyTorch's per-operation cost on small images (docs/speed.md). Both take every size from
:class:`~rtswap.blend.sizes.BlendSizes`, and a test checks that they agree.
"""

from __future__ import annotations

import torch

from rtswap.blend.composite_cpu import composite_cpu
from rtswap.blend.composite_tensor import composite_tensor
from rtswap.runtime.cuda_graph import CudaGraphed


def composite(
    target: torch.Tensor,
    swapped: torch.Tensor,
    coverage: torch.Tensor,
    eyes: torch.Tensor,
    levels_fewer: int = 0,
) -> torch.Tensor:
    """Blend swapped faces into their target crops and return the change to paste back.

    target, swapped: (B, 3, S, S) RGB [0, 1] aligned crops; coverage: (B, 1, S, S) in [0, 1], where
    the engine produced face pixels (for ``warp``: the mesh, open mouth excluded); eyes: (B, 1, S,
    S) in [0, 1], the eyes' openings (they take the light of the target's eyes,
    :data:`~rtswap.blend.color.EYES_GAIN`).
    Returns (B, 3, S, S): blended − target, weighted by a feathered paste mask, zero far from the face.
    ``levels_fewer`` leaves that many of the coarsest pyramid levels out of the blend (cheaper).
    """
    if target.device.type == "cpu":
        return composite_cpu(target, swapped, coverage, eyes, levels_fewer)
    return graphed_composite(target, swapped, coverage, eyes, levels_fewer=levels_fewer)


graphed_composite = CudaGraphed(composite_tensor)
"""On CUDA one launch a call instead of ~220 (one graph per number of faces, crop size and
levels); elsewhere the tensor operations as they are."""
