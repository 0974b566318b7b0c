"""Instance norm in half precision: the statistics in fp32, so a flat channel and a large one
stay finite."""

import pytest
import torch

from rtswap.engines.norm import instance_norm


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_a_flat_or_large_channel_stays_finite_in_half_precision(dtype: torch.dtype) -> None:
    x = torch.zeros(1, 3, 8, 8)
    x[0, 1] = torch.linspace(0, 3000, 64).view(8, 8)  # squared deviations far over fp16's range
    x[0, 2] = 7.0  # flat
    out = instance_norm(x.to(dtype))
    assert out.dtype == dtype and torch.isfinite(out).all()
    assert (out.float() - instance_norm(x)).abs().max() < 0.02
    assert out[0, 2].abs().max() == 0
