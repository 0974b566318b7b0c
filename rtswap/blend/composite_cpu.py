""":func:`~rtswap.blend.composite.composite` for tensors on the CPU, in OpenCV.

The same steps and sizes as ``composite_tensor``, one face at a time on (H, W, C) float32 arrays
that share memory with the tensors. OpenCV's pyramid, resize, morphology, box filter and Lab
conversion are SIMD kernels over interleaved channels; on a 192-256 px crop they take a tenth of
the time of the equivalent tensor operations, most of which is per-operation overhead. Per-pixel
arithmetic stays between arrays of one shape (a mask is first repeated over the three channels):
NumPy broadcasting over the last axis is ten times slower.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.blend.color import (
    CLIPPED,
    CLIPPED_SHARE,
    EYES_GAIN,
    GREY_BLOCK,
    GREY_LIGHT,
    GREY_SPREAD,
    LIGHT_OFFSET,
    MIN_VISIBLE,
    SPREAD_HIGH,
    SPREAD_LOW,
    STATS_STRIDE,
    WHITES_SHOW,
)
from rtswap.blend.sizes import BlendSizes


def composite_cpu(
    target: torch.Tensor,
    swapped: torch.Tensor,
    coverage: torch.Tensor,
    eyes: torch.Tensor,
    levels_fewer: int = 0,
) -> torch.Tensor:
    sizes = BlendSizes.of(target.shape[-1], levels_fewer)
    changes = [
        _composite_one(t, s, c[..., 0], e[..., 0], sizes)
        for t, s, c, e in zip(
            *map(_channels_last, (target, swapped, coverage, eyes)),
            strict=True,
        )
    ]
    return torch.from_numpy(np.stack(changes)).permute(0, 3, 1, 2).contiguous()


def _composite_one(
    target: np.ndarray, swapped: np.ndarray, coverage: np.ndarray, eyes: np.ndarray, sizes: BlendSizes
) -> np.ndarray:
    size = coverage.shape[0]
    half = cv2.resize(coverage, (size // 2, size // 2), interpolation=cv2.INTER_AREA)  # 2x2 means
    r = sizes.gap_half // 2
    solid_half = cv2.erode(cv2.dilate(half, _square(r)), _square(r))
    mask = _box(cv2.erode(_double(solid_half), _square(sizes.erode)), sizes.erode - 1)
    matched = _transfer_color(swapped, target, mask, eyes)
    delta = (matched - target) * _rgb(coverage > 0.5)  # the swap where it covers, else the target
    change = _multiband_change(delta, mask, sizes.levels)
    paste_alpha = _box(
        _box(cv2.dilate(solid_half, _square(sizes.dilate_half)), sizes.blur_half), sizes.blur_half
    )
    return change * _rgb(_double(paste_alpha))


def _transfer_color(
    source: np.ndarray, target: np.ndarray, weight: np.ndarray, eyes: np.ndarray
) -> np.ndarray:
    """:func:`~rtswap.blend.color.transfer_color` (Lab mean and spread over ``weight``, the colour's
    without clipped pixels, the colour moved less where little is visible, the target's colour with
    a grey source or target, the eyes' openings in the light of the target's)."""
    size = weight.shape[0]
    small = (size // STATS_STRIDE, size // STATS_STRIDE)
    small_weight = cv2.resize(weight, small, interpolation=cv2.INTER_AREA)
    small_rgb = [cv2.resize(x, small, interpolation=cv2.INTER_AREA) for x in (source, target)]
    small_source, small_target = (_lab(x) for x in small_rgb)
    unclipped = (np.maximum(*(x.max(axis=-1) for x in small_rgb)) < CLIPPED).astype(np.float32)
    colour_weight = small_weight * (unclipped + CLIPPED_SHARE)
    src_mean, src_std = _skin_stats(small_source, small_weight, colour_weight)
    tgt_mean, tgt_std = _skin_stats(small_target, small_weight, colour_weight)
    src_light, tgt_light = (_light_mean(x, small_weight) for x in (small_source, small_target))
    scale = np.array([min(1.0, tgt_light / src_light), 1.0, 1.0])  # L* only (SPREAD_LOW)
    ratio = np.clip(tgt_std / np.maximum(src_std, 1e-3), np.array(SPREAD_LOW) * scale, SPREAD_HIGH * scale)
    moved = np.hstack([np.diag(ratio), (tgt_mean - ratio * src_mean)[:, None]]).astype(np.float32)
    lab = _lab(source)
    # Reinhard's move, then the darker tones' departures from it: functions of L* alone, looked up in
    # a table of 256 levels (exact enough, as they are flat about the skin's mean; computed per
    # pixel, their ten passes over the crop cost twice the time)
    departures = _tone_departures(ratio, src_mean, tgt_mean, src_light, tgt_light)
    levels = cv2.convertScaleAbs(cv2.extractChannel(lab, 0), alpha=255 / 100)
    out = cv2.add(cv2.transform(lab, moved), cv2.LUT(cv2.merge([levels] * 3), departures))
    out = _eyes_in_their_light(out, lab, target, eyes, src_light, tgt_light)
    low, high = GREY_SPREAD
    spread = min(
        np.hypot(*std[1:]) * GREY_LIGHT / light for std, light in ((src_std, src_light), (tgt_std, tgt_light))
    )
    grey = float(np.clip((high - spread) / (high - low), 0.0, 1.0))
    visible = min(1.0, float(small_weight.mean()) / MIN_VISIBLE)
    if grey > 0:  # colour faces skip this (the tensor path computes it and mixes in none)
        blocks = (size // GREY_BLOCK, size // GREY_BLOCK)
        colour = _resize(cv2.resize(small_target, blocks, interpolation=cv2.INTER_AREA), lab.shape)
        out = _colour_towards(out, colour, grey)
    if visible < 1:
        out = _colour_towards(out, lab, 1 - visible)
    return np.clip(cv2.cvtColor(out, cv2.COLOR_Lab2RGB), 0.0, 1.0)


def _tone_departures(
    ratio: np.ndarray, src_mean: np.ndarray, tgt_mean: np.ndarray, src_light: float, tgt_light: float
) -> np.ndarray:
    """(1, 256, 3) float32: for L* at each of 256 levels over [0, 100], what
    :func:`~rtswap.blend.color.transfer_color` moves (L*, a, b) by beyond Reinhard's move."""
    lightness = np.linspace(0.0, 100.0, 256)
    tone = (lightness + LIGHT_OFFSET) / src_light
    powered = tgt_light * tone ** (ratio[0] * src_light / tgt_light) - LIGHT_OFFSET
    shift = tgt_mean - ratio * src_mean
    short = np.maximum(1 - tone, 0)  # the share of the colour's shift not taken
    departures = [powered - (ratio[0] * lightness + shift[0]), -short * shift[1], -short * shift[2]]
    return np.stack(departures, axis=-1)[None].astype(np.float32)


def _eyes_in_their_light(
    moved: np.ndarray,
    source: np.ndarray,
    target: np.ndarray,
    eyes: np.ndarray,
    src_light: float,
    tgt_light: float,
) -> np.ndarray:
    """:func:`~rtswap.blend.color._eyes_in_their_light` of (H, W, 3) Lab as the skin moved it
    (changed in place), the source's Lab, the target's RGB, eyes (H, W); within the eyes' box."""
    rows, columns = (np.flatnonzero((eyes > 0).any(axis=axis)) for axis in (1, 0))
    if rows.size == 0:
        return moved
    box = np.s_[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    eyes, source = eyes[box], source[box]
    source_whites = _whites(source, eyes)
    source_light = source_whites[0] + LIGHT_OFFSET
    low, high = WHITES_SHOW
    shown = float(np.clip((source_light / src_light - low) / (high - low), 0, 1))
    gain = float(np.clip(tgt_light / src_light, 1 / EYES_GAIN, EYES_GAIN))
    tint = np.zeros(3)
    if shown > 0:  # (the tensor path computes the whites' move and mixes in none)
        target_whites = _whites(_lab(target[box]), eyes)
        whites_gain = np.clip((target_whites[0] + LIGHT_OFFSET) / source_light, 1 / EYES_GAIN, EYES_GAIN)
        gain += (float(whites_gain) - gain) * shown
        tint = (target_whites - source_whites) / source_light  # per unit of L* + 16
    in_eyes = cv2.transform(
        source,
        np.array(
            [
                [gain, 0, 0, LIGHT_OFFSET * (gain - 1)],
                [tint[1], 1, 0, LIGHT_OFFSET * tint[1]],
                [tint[2], 0, 1, LIGHT_OFFSET * tint[2]],
            ],
            np.float32,
        ),
    )
    moved[box] += (in_eyes - moved[box]) * cv2.merge([eyes, eyes * shown, eyes * shown])
    return moved


def _whites(lab: np.ndarray, eyes: np.ndarray) -> np.ndarray:
    """:func:`~rtswap.blend.color.whites` of (H, W, 3) Lab, eyes (H, W) -> (3,)."""
    lightness = cv2.extractChannel(lab, 0)
    return _weighted_mean(lab, eyes * (lightness > _weighted_mean(lightness[..., None], eyes)[0]))


def _weighted_mean(values: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(H, W, C) values, (H, W) weight -> (C,): a product of a vector and a matrix, no broadcasting
    over channels."""
    w = weight.reshape(-1).astype(np.float64)
    return w @ values.reshape(w.size, -1).astype(np.float64) / max(float(w.sum()), 1e-6)


def _light_mean(lab: np.ndarray, weight: np.ndarray) -> float:
    """:func:`~rtswap.blend.color.light_mean` of a small (h, w, 3) Lab image, weight (h, w)."""
    return float(np.exp(_weighted_mean(np.log(lab[..., :1].astype(np.float64) + LIGHT_OFFSET), weight)[0]))


def _colour_towards(lab: np.ndarray, other: np.ndarray, share: float) -> np.ndarray:
    """``lab`` with its colour (a, b) moved ``share`` of the way to ``other``'s, its lightness kept."""
    return cv2.merge([lab[..., 0], *(lab[..., c] + (other[..., c] - lab[..., c]) * share for c in (1, 2))])


def _multiband_change(delta: np.ndarray, mask: np.ndarray, levels: int) -> np.ndarray:
    """:func:`~rtswap.blend.pyramid.multiband_change` (the same binomial pyramid and bilinear
    upsampling)."""
    bands = []
    for _ in range(levels - 1):
        down, down_mask = (cv2.pyrDown(x, borderType=cv2.BORDER_REPLICATE) for x in (delta, mask))
        bands.append((delta - _resize(down, delta.shape)) * _rgb(mask))
        delta, mask = down, down_mask
    out = delta * _rgb(mask)
    for band in reversed(bands):
        out = _resize(out, band.shape) + band
    return out


def _skin_stats(
    lab: np.ndarray, weight: np.ndarray, colour_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~rtswap.blend.color._skin_stats` of a small (h, w, 3) Lab image: (3,) mean and spread."""
    (l_mean, l_std), (c_mean, c_std) = _masked_stats(lab, weight), _masked_stats(lab, colour_weight)
    return np.concatenate([l_mean[:1], c_mean[1:]]), np.concatenate([l_std[:1], c_std[1:]])


def _masked_stats(image: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel weighted mean and std of a small (h, w, 3) image, weight (h, w)."""
    pixels = image.astype(np.float64)
    mean = _weighted_mean(pixels, weight)
    var = _weighted_mean(pixels * pixels, weight) - mean * mean
    return mean, np.sqrt(np.maximum(var, 0.0))


def _rgb(mask: np.ndarray) -> np.ndarray:
    """(H, W) mask -> (H, W, 3) float32, for same-shape arithmetic with an image."""
    return cv2.merge([mask.astype(np.float32)] * 3)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)


def _channels_last(x: torch.Tensor) -> np.ndarray:
    return x.detach().permute(0, 2, 3, 1).to(torch.float32).contiguous().numpy()


def _square(radius: int) -> np.ndarray:
    return np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)


def _box(mask: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2r+1)² square, edges replicated (identity for r = 0)."""
    if radius == 0:
        return mask
    return cv2.blur(mask, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REPLICATE)


def _double(mask: np.ndarray) -> np.ndarray:
    return cv2.resize(mask, (mask.shape[1] * 2, mask.shape[0] * 2), interpolation=cv2.INTER_LINEAR)


def _resize(image: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Bilinear, pixel centres aligned (as PyTorch's ``align_corners=False``)."""
    return cv2.resize(image, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
