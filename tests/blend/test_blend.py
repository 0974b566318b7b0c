from collections.abc import Callable

import pytest
import torch

from rtswap.blend.color import (
    LIGHT_OFFSET,
    SPREAD_LOW,
    grey_share,
    lab_to_rgb,
    masked_stats,
    rgb_to_lab,
    transfer_color,
)
from rtswap.blend.composite import composite, graphed_composite
from rtswap.blend.composite_cpu import composite_cpu
from rtswap.blend.composite_tensor import composite_tensor
from rtswap.blend.mask import close_small_gaps, soft_erode
from rtswap.blend.pyramid import multiband_change


def test_lab_round_trip() -> None:
    rgb = torch.rand(2, 3, 16, 16)
    torch.testing.assert_close(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-4, rtol=0)


def test_colour_transfer_moves_mean_skin_colour_to_the_target() -> None:
    gen = torch.Generator().manual_seed(0)
    source = (
        torch.tensor([0.85, 0.65, 0.55])[None, :, None, None]
        + 0.05 * torch.randn(1, 3, 64, 64, generator=gen)
    ).clamp(0, 1)
    target = (
        torch.tensor([0.45, 0.30, 0.22])[None, :, None, None]
        + 0.05 * torch.randn(1, 3, 64, 64, generator=gen)
    ).clamp(0, 1)
    weight = torch.zeros(1, 1, 64, 64)
    weight[..., 16:48, 16:48] = 1.0
    out = transfer_color(source, target, weight, torch.zeros_like(weight))
    before = (masked_stats(source, weight)[0] - masked_stats(target, weight)[0]).abs().max()
    after = (masked_stats(out, weight)[0] - masked_stats(target, weight)[0]).abs().max()
    assert before > 0.2
    assert after < 0.01


def test_a_darker_sources_dark_features_stay_dark_on_a_lighter_target() -> None:
    """Grace Hopper's dark irises came out pale and grey on the astronaut: Reinhard's move lifted
    them as far as her skin. Lifted as light lifts them, they end up darker than that, and brown."""
    gen = torch.Generator().manual_seed(0)
    source = torch.tensor([0.75, 0.50, 0.38])[None, :, None, None] + 0.04 * torch.randn(
        1, 3, 64, 64, generator=gen
    )
    source[..., 28:36, 28:36] = torch.tensor([0.11, 0.055, 0.043])[:, None, None]  # an iris
    target = torch.tensor([0.88, 0.72, 0.62])[None, :, None, None] + 0.02 * torch.randn(
        1, 3, 64, 64, generator=gen
    )
    source, target, weight = source.clamp(0, 1), target.clamp(0, 1), torch.ones(1, 1, 64, 64)
    (src_mean, src_std), (tgt_mean, tgt_std) = (masked_stats(rgb_to_lab(x), weight) for x in (source, target))
    iris = rgb_to_lab(source)[0, 0, 32, 32]
    reinhards = (iris - src_mean[0, 0]) * (tgt_std[0, 0] / src_std[0, 0]).clamp(min=SPREAD_LOW[0]) + tgt_mean[
        0, 0
    ]
    out = rgb_to_lab(transfer_color(source, target, weight, torch.zeros_like(weight)))[0, :, 32, 32]
    assert out[0] < reinhards - 5  # (22.8 against 29.8)
    assert out[1] > 5 and out[2] > 10  # brown: red and yellow


def test_a_lighter_sources_skin_keeps_its_contrast_relative_to_a_darker_targets() -> None:
    """Held to the lighter source's spread, Grace Hopper's wrinkles and lids stood out like cuts on
    a darker astronaut: a darker skin scales its features' spread with it (L* + 16, as light does)."""
    gen = torch.Generator().manual_seed(0)
    source = torch.tensor([0.75, 0.55, 0.45])[None, :, None, None] + 0.06 * torch.randn(
        1, 3, 64, 64, generator=gen
    )
    target = torch.tensor([0.40, 0.26, 0.19])[None, :, None, None] + 0.01 * torch.randn(
        1, 3, 64, 64, generator=gen
    )
    source, target, weight = source.clamp(0, 1), target.clamp(0, 1), torch.ones(1, 1, 64, 64)
    contrast = [
        float(lab[0, 0].std() / (lab[0, 0].mean() + LIGHT_OFFSET))
        for lab in map(rgb_to_lab, (source, transfer_color(source, target, weight, torch.zeros_like(weight))))
    ]
    assert 0.85 < contrast[1] / contrast[0] < 1.1, contrast  # (0.90; 1.45 held to the source's spread)


def test_the_eyes_take_the_light_of_the_targets_eyes_not_of_its_skin() -> None:
    """From a darker skin to a lighter one the skin's move lifted the eyes' whites past white (eyes
    that glowed); the other way it dimmed them grey. Whites are alike from face to face: the swap's
    end up as light as the target's, each way, and the iris stays darker than the whites."""
    gen = torch.Generator().manual_seed(0)
    eyes = torch.zeros(1, 1, 64, 64)
    eyes[..., 24:32, 12:52] = 1.0

    def face(skin: tuple[float, float, float], white: float) -> torch.Tensor:
        image = torch.tensor(skin)[None, :, None, None] + 0.03 * torch.randn(1, 3, 64, 64, generator=gen)
        image[..., 24:32, 12:52] = white
        image[..., 24:32, 28:36] = torch.tensor([0.25, 0.15, 0.1])[:, None, None]  # an iris
        return image.clamp(0, 1)

    dark, light = face((0.45, 0.30, 0.22), 0.80), face((0.88, 0.72, 0.62), 0.85)
    weight = 1 - eyes
    for source, target in ((dark, light), (light, dark)):
        out = rgb_to_lab(transfer_color(source, target, weight, eyes))[0, 0]
        target_white = rgb_to_lab(target)[0, 0, 26, 16]
        assert abs(out[26, 16] - target_white) < 3  # (before: 100 against 87, 47 against 82)
        assert 10 < out[28, 32] < out[26, 16] - 20  # (before: the iris at 60, then at 0)
        skin = rgb_to_lab(target)[0, 0, 40:60].mean()
        assert abs(out[40:60].mean() - skin) < 2  # the skin still moves as it did


@pytest.mark.parametrize("composite_path", [composite_cpu, composite_tensor])
def test_the_eyes_tint_is_the_lights_so_a_dark_iris_takes_little_of_it(
    composite_path: Callable[..., torch.Tensor],
) -> None:
    """Behind an over-exposed target's amber lenses the whites it shows are reddish: shifted by as
    much, the swap's dark irises came out red. A tint is a change of light: it scales with it."""
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 192), torch.linspace(-1, 1, 192), indexing="ij")
    coverage = ((xx / 0.8) ** 2 + (yy / 0.9) ** 2 < 1).to(torch.float32)[None, None]
    eyes = torch.zeros_like(coverage)
    eyes[..., 70:86, 40:152] = 1.0

    def face(white: tuple[float, float, float]) -> torch.Tensor:
        image = torch.tensor([0.8, 0.6, 0.5])[:, None, None].repeat(1, 1, 192, 192)
        image[..., 70:86, 40:152] = torch.tensor(white)[:, None, None]
        image[..., 70:86, 88:104] = torch.tensor([0.12, 0.08, 0.06])[:, None, None]  # an iris
        return image

    target, swapped = face((0.95, 0.7, 0.55)), face((0.9, 0.9, 0.88))
    out = rgb_to_lab((target + composite_path(target, swapped, coverage, eyes)).clamp(0, 1))[0]
    before = rgb_to_lab(swapped)[0]
    white_shift, iris_shift = ((out - before)[1:, 78, x].norm() for x in (60, 96))
    assert white_shift > 15
    assert iris_shift < 0.35 * white_shift  # (0.18x; shifted as much as the whites: 0.69x)


@pytest.mark.parametrize("composite_path", [composite_cpu, composite_tensor])
def test_an_over_exposed_targets_clipped_skin_does_not_set_the_colour(
    composite_path: Callable[..., torch.Tensor],
) -> None:
    """Clipped, the top half of the target's face reads near white whatever its skin: it used to
    pull the swap's colour halfway to grey (a, b 16 units off the target's skin below it)."""
    gen = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 192), torch.linspace(-1, 1, 192), indexing="ij")
    coverage = ((xx / 0.8) ** 2 + (yy / 0.9) ** 2 < 1).to(torch.float32)[None, None]

    def skin(rgb: tuple[float, float, float]) -> torch.Tensor:
        noise = 0.03 * torch.randn(3, 192, 192, generator=gen)
        return (torch.tensor(rgb)[:, None, None] + noise)[None].clamp(0, 1)

    target, swapped = skin((0.9, 0.62, 0.42)), skin((0.75, 0.6, 0.55))
    target[..., :90, :] = torch.tensor([1.0, 0.97, 0.9])[:, None, None]
    change = composite_path(target, swapped, coverage, torch.zeros_like(coverage))
    out = rgb_to_lab((target + change).clamp(0, 1))
    below = (slice(None), slice(1, 3), slice(110, 160), slice(60, 130))  # (a, b) under the clipped half
    assert (out[below].mean(dim=(2, 3)) - rgb_to_lab(target)[below].mean(dim=(2, 3))).norm() < 7  # (5.0)


def test_a_dark_skins_colour_is_not_taken_for_a_grey_photos() -> None:
    """Colour in Lab scales with lightness: a dark skin's spreads less than a light one's, and a
    very dark one read as partly grey. Taken to the same light, it is a colour face; a
    black-and-white photo's stays grey, whatever its light."""
    dark, light = torch.tensor(45.0).view(1, 1, 1, 1), torch.tensor(100.0).view(1, 1, 1, 1)
    colour, grey = (torch.tensor([5.0, a, a]).view(1, 3, 1, 1) for a in (1.2, 0.1))  # (a, b) spread 1.7, 0.14
    assert float(grey_share(colour, colour, dark, dark)) == 0.0
    assert float(grey_share(colour, colour, light, light)) == pytest.approx(0.3, abs=0.01)  # (as before)
    assert float(grey_share(grey, colour, dark, dark)) == 1.0


def test_a_face_almost_all_covered_keeps_the_source_colour_with_the_target_lightness() -> None:
    """A few pixels of a blue-lit face visible: the swap does not turn blue, its lightness follows."""
    source = torch.tensor([0.85, 0.65, 0.55])[None, :, None, None].expand(1, 3, 64, 64)
    target = torch.tensor([0.30, 0.35, 0.60])[None, :, None, None].expand(1, 3, 64, 64)
    weight = torch.zeros(1, 1, 64, 64)
    weight[..., 30:34, 30:34] = 1.0  # 0.4% of the crop
    out = transfer_color(source, target, weight, torch.zeros_like(weight))
    source_lab, target_lab, out_lab = (rgb_to_lab(x)[0, :, 32, 32] for x in (source, target, out))
    assert (out_lab[1:] - source_lab[1:]).abs().max() < 0.2 * (target_lab[1:] - source_lab[1:]).abs().max()
    assert (out_lab[0] - target_lab[0]).abs() < 1.0
    weight[..., 8:56, 8:56] = 1.0  # a face in view: the target's colour, as before
    assert (
        rgb_to_lab(transfer_color(source, target, weight, torch.zeros_like(weight)))[0, :, 32, 32]
        - target_lab
    ).abs().max() < 1.0


def test_soft_erosion_is_one_inside_and_fades_to_zero_at_the_edge() -> None:
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 8:56, 8:56] = 1.0
    soft = soft_erode(mask, radius_px=4)
    assert soft[0, 0, 32, 32] > 0.999
    assert soft[0, 0, 8, 32] < 0.01  # zero at the boundary: the fade lies inside the face
    assert soft[0, 0, 12, 32] > 0.4  # halfway up by one radius in
    assert soft[0, 0, 2, 32] == 0.0
    row = soft[0, 0, 32, :32]
    assert (row[1:] >= row[:-1] - 1e-6).all()  # monotone fade in


def test_closing_fills_a_lip_line_but_not_an_open_mouth() -> None:
    mask = torch.ones(1, 1, 64, 64)
    mask[..., 30, 20:44] = 0.0  # closed mouth: 1 px line
    mask[..., 40:50, 20:44] = 0.0  # open mouth: 10 px hole
    closed = close_small_gaps(mask, gap_px=5)
    assert closed[0, 0, 30, 32] == 1.0
    assert closed[0, 0, 45, 32] == 0.0


def test_multiband_change_is_exact_where_the_mask_is_constant() -> None:
    fg, bg = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 64, 64)
    torch.testing.assert_close(bg + multiband_change(fg - bg, torch.ones(1, 1, 64, 64), levels=4), fg)
    torch.testing.assert_close(
        multiband_change(fg - bg, torch.zeros(1, 1, 64, 64), levels=4), torch.zeros_like(bg)
    )


def _faces() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Two 192 px target crops, their swaps, the swaps' coverage (an open mouth and a closed one's
    lip line cut out of it) and the eyes' openings."""
    gen = torch.Generator().manual_seed(1)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 192), torch.linspace(-1, 1, 192), indexing="ij")
    target = (
        torch.stack([0.6 + 0.2 * xx, 0.4 + 0.1 * yy, 0.3 + 0.05 * xx * yy])[None]
        + 0.03 * torch.randn(2, 3, 192, 192, generator=gen)
    ).clamp(0, 1)
    swapped = (target.flip(-1) * 0.7 + 0.2 + 0.05 * torch.randn(2, 3, 192, 192, generator=gen)).clamp(0, 1)
    coverage = ((xx / 0.7) ** 2 + (yy / 0.85) ** 2 < 1).to(torch.float32)[None, None].repeat(2, 1, 1, 1)
    coverage[..., 130:140, 70:120] = 0.0  # an open mouth
    coverage[..., 110:112, 70:120] = 0.0  # a closed one's lip line
    eyes = torch.zeros_like(coverage)
    eyes[..., 70:80, 50:80] = eyes[..., 70:80, 112:142] = 1.0
    return target, swapped, coverage, eyes


def test_the_opencv_composite_matches_the_tensor_one() -> None:
    """The CPU path (OpenCV) and the tensor path (CUDA) are one algorithm: same masks, colour
    transfer and pyramid, to within float rounding (OpenCV's Lab differs by ~0.5 L)."""
    target, swapped, coverage, eyes = _faces()
    expected = composite_tensor(target, swapped, coverage, eyes)
    got = composite_cpu(target, swapped, coverage, eyes)
    assert got.shape == expected.shape and expected.abs().max() > 0.2
    assert (got - expected).abs().max() < 2 / 255
    speck = torch.zeros_like(coverage)
    speck[..., 90:102, 90:102] = 1.0  # too little visible to trust the target's colour
    expected, got = (
        composite_tensor(target, swapped, speck, eyes),
        composite_cpu(target, swapped, speck, eyes),
    )
    assert (got - expected).abs().max() < 2 / 255
    grey = swapped.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)  # takes the target's colour
    expected, got = (
        composite_tensor(target, grey, coverage, eyes),
        composite_cpu(target, grey, coverage, eyes),
    )
    assert (got - expected).abs().max() < 2 / 255
    grey_target = target.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)  # so does one on a grey target
    expected, got = (
        composite_tensor(grey_target, swapped, coverage, eyes),
        composite_cpu(grey_target, swapped, coverage, eyes),
    )
    assert (got - expected).abs().max() < 2 / 255
    over_exposed = (target * 1.6).clamp(0, 1)  # the colour's statistics without clipped pixels
    expected, got = (
        composite_tensor(over_exposed, swapped, coverage, eyes),
        composite_cpu(over_exposed, swapped, coverage, eyes),
    )
    off = (got - expected).abs()
    assert off.flatten().quantile(0.999) < 2 / 255  # (0.8 levels)
    assert off.max() < 5 / 255  # (6 pixels past 2 levels, out of the gamut: the two Labs clip unlike)
    shaded = swapped * (1 - 0.7 * eyes)  # eyes that show no white: in the skin's light
    expected, got = (
        composite_tensor(target, shaded, coverage, eyes),
        composite_cpu(target, shaded, coverage, eyes),
    )
    assert (got - expected).abs().max() < 2 / 255


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_composite_replayed_on_cuda_is_the_tensor_one() -> None:
    """One graph per number of faces, crop size and levels, each replay reading its own call's
    crops."""
    target, swapped, coverage, eyes = (t.cuda() for t in _faces())
    calls = [
        ((target, swapped, coverage, eyes), 0),
        ((target, swapped.flip(-2), coverage, eyes), 0),
        ((target[:1], swapped[:1], coverage[:1], eyes[:1]), 0),
        ((target, swapped, coverage, eyes), 1),
    ]
    with torch.inference_mode():
        for crops, levels_fewer in calls:
            got, expected = composite(*crops, levels_fewer), composite_tensor(*crops, levels_fewer)
            assert torch.allclose(got, expected, atol=1e-5)
    assert graphed_composite.capturing
