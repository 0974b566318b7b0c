"""Matching the camera: the swapped face as soft and as grainy as the target face it replaces.

A generated face comes from a sharp source photo; a webcam's frame is often softer (focus, a moving
head) and noisier (a dim room). Pasted as it is, a crisp, clean face reads as a sticker on a soft,
grainy head. Per face, from the target crop and the swapped crop over the face's region:

- **Blur.** The gradient energy along each axis of the crop (the face's own axes: the crop is
  aligned) in the target, less what its noise contributes, against the swap blurred by a ladder of
  Gaussians along that axis: the swap gets the blur that brings its energy down to the target's.
  One axis at a time, so a head moving sideways gets a sideways blur. Never sharpened.
- **Grain.** The noise level of each, from the residual of each pixel against its four
  neighbours in the smoothest blocks of the face (robust to the face's own edges). Where the target
  is noisier, fresh Gaussian noise makes up the difference (variances add), drawn in the frame on
  every frame as a sensor's is, the same in the three channels (the levels are the luma's;
  independent channels would add two thirds of it to the luma); a clean camera gets none. A face's
  own fine texture (wrinkles, stubble, a print's grain) reads as noise too, but stays still from
  frame to frame while a sensor's changes: so in a stream the level is capped by what changed
  since the frame before, in the aligned crop (the same residual, of the two crops' difference,
  where the face is smooth: on wrinkles a face that moved a fraction of a pixel changes too;
  scaled back to the frame), and the swap's own texture, which keeps still too, takes nothing off
  it. Fresh grain at the texture's level would make the face boil while the scene around it keeps
  still.

Looked at on a track's first frame, again two frames later (so the grain is checked against the
frames' change early; the compositor gives a tracked face no grain until then), then on every
``LOOK_EVERY``-th frame (a camera's focus and light change slowly); applied on every frame.

On every frame the change is also filtered for its move into the frame: a crop that magnifies a
face ``m`` times is sampled every ``m`` of its pixels when pasted, and its detail finer than two
frame pixels would fold back as coarser patterns that do not move with the face: as a face slides
a fraction of a pixel a frame, its swapped skin shimmers (:func:`antialias`).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from rtswap.blend.color import LUMA
from rtswap.blend.mask import erode
from rtswap.device import upload

LOOK_EVERY = 15
LOOK_AGAIN_AFTER = 2
_LOOK_PX = 128
"""A look works on the face at most this many pixels wide (or as large as in the frame, if smaller)."""
_LADDER = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
"""Blurs tried, in pixels of the face as large as it is in the frame."""
_MIN_BLUR_PX = 0.4
"""A blur below this (crop pixels) is not applied: no visible difference."""
_SHARP_ENOUGH_PX = 1.5
"""A target softer than the swap by less than this blur (frame pixels) is taken as sharp: a
photo's own softness, a rendered face's and the crop's resampling are within it, and matching
them would cost the face detail (and a few ms a frame) for no visible gain."""
_MIN_NOISE = 1.5 / 255
"""A target whose noise is below this is a clean camera: no grain is added."""
_NOISE_MARGIN = 1.2
"""Grain is added only where the target is this much noisier than the swap."""
_SHOWN = 0.95
_KEPT = 4096
"""Noise shares kept per function, by crop size and magnification: a moving face asks for new
ones, and a server runs for days."""
_NOISE_BLOCK = 6
_SMOOTHEST = 0.2
"""The noise is measured in the smoothest fifth of the face's 6x6 pixel blocks."""


class Look(NamedTuple):
    """What a camera look finds for a face."""

    blur_x: float
    blur_y: float
    """The blur to give the swap along x and y (crop pixels)."""
    grain: float
    """The grain to add (a standard deviation of [0, 1] values per frame pixel)."""


def camera_look(
    crops: torch.Tensor,
    swapped: torch.Tensor,
    face: torch.Tensor,
    frames: list[torch.Tensor],
    magnification: list[float],
    before: list[torch.Tensor | None] | None = None,
) -> list[Look]:
    """Per face, what to give the swapped face so it matches the target's camera.

    crops, swapped: (B, 3, S, S) RGB [0, 1]; face: (B, 1, S, S) the face's region; frames: each
    face's box in the frame ((1, 3, h, w) [0, 1]); magnification: crop pixels per frame pixel;
    before: each face's target crop in the frame before ((1, 3, S', S'), where there is one; aligned
    as the crops are, at any size: the governor may have changed it).
    The blur is judged with both faces as large as the face is in the frame (a crop that enlarges a
    face softens it, and would pass for a soft camera), or at :data:`_LOOK_PX` if that is smaller.
    The target's noise is measured in the frame, in the middle of the face's box (the crop's
    resampling smooths it), and capped by what changed since the frame before; the grain is what,
    added in the frame, gives the face the frame's noise."""
    weights = LUMA.like(crops)[None, :, None, None]
    target, swap = ((x * weights).sum(dim=1, keepdim=True) for x in (crops, swapped))
    inside = erode((face > 0.5).to(crops.dtype), max(1, crops.shape[-1] // 32))
    looks = []
    for k, (frame, magnified, previous) in enumerate(
        zip(frames, magnification, before or [None] * len(frames), strict=True)
    ):
        height, width = frame.shape[-2:]
        middle = frame[..., height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
        middle = (middle * weights).sum(dim=1, keepdim=True)
        scale = min(1 / max(magnified, 1.0), _LOOK_PX / crops.shape[-1])
        target_k, swap_k, inside_k = (_resized(x[k : k + 1], scale) for x in (target, swap, inside))
        inside_k = (inside_k > 0.99).to(crops.dtype)
        # what changed since the frame before, where there is one
        pairs = (
            []
            if previous is None
            else [(target_k, _resized_to((previous * weights).sum(1, keepdim=True), target_k.shape[-1]))]
        )
        measured = torch.cat(  # every number the look needs, read to the host at once
            [
                _noise_power(middle, torch.ones_like(middle)),
                _noise_power(swap[k : k + 1], inside[k : k + 1]),
                _noise_power(target_k, inside_k),
                *(_energies(target_k, swap_k, inside_k, dim) for dim in (3, 2)),
                *(_change_power(now, before, inside_k) for now, before in pairs),
            ]
        ).tolist()
        target_noise, swap_noise, noise_here = (_level(power) for power in measured[:3])
        rungs = 2 + 2 * len(_LADDER)
        blur_x, blur_y = (  # in crop pixels
            _matching_blur(measured[start : start + rungs], noise_here) / scale for start in (3, 3 + rungs)
        )
        blur_x, blur_y = (blur if blur / magnified >= _SHARP_ENOUGH_PX else 0.0 for blur in (blur_x, blur_y))
        changed = measured[-1] if pairs else None
        grain = _grain(target_noise, swap_noise, changed, crops.shape[-1], magnified, scale)
        looks.append(Look(blur_x, blur_y, grain))
    return looks


def _grain(
    target_noise: float, swap_noise: float, changed: float | None, size: int, magnified: float, scale: float
) -> float:
    """The grain a face needs (per frame pixel) from the target's noise in the frame, the swap's
    in its crop of ``size``, and the noise power of what changed in the look's view of the target
    crop since the frame before (None: no frame before)."""
    if changed is not None:  # the sensor's share: a change's noise is two frames' (the swap's keeps still)
        sensor = min(
            target_noise, _level(changed / 2) / _noise_seen(size, round(magnified, 2), round(scale, 3))
        )
        return sensor if sensor > _MIN_NOISE else 0.0
    swap_noise *= _noise_left(size, round(magnified, 2))  # once pasted
    clean = target_noise <= max(_MIN_NOISE, _NOISE_MARGIN * swap_noise)
    return 0.0 if clean else (target_noise**2 - swap_noise**2) ** 0.5


def match_camera(
    changes: torch.Tensor, shown: torch.Tensor, looks: list[Look], magnification: list[float]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The composite's ``changes`` (B, 3, S, S) blurred as :func:`camera_look` says and for their
    move into the frame (``magnification``: each crop's pixels per frame pixel; :func:`antialias`),
    and the grain to add where the swapped face is ``shown`` ((B, 1, S, S) in [0, 1]) all but
    whole (not along the feathered edges of what covers the face): (B, 1, S, S) standard
    deviations per frame pixel, or None if no face gets grain. The change is blurred, not the
    swapped face alone: its seams with the target's pixels (the face's edge, a mouth, holes in a
    texture) soften with it, as the camera would have them. The grain is drawn in the frame when
    the change is pasted (:meth:`~rtswap.geometry.crops.FaceRegions.paste`), after the blur, one
    grain to a frame pixel, as a sensor's is: noise drawn in a magnified crop would be coarser once
    pasted, and in a shrunk one finer. Faces that need no blur come back as they are."""
    blurs = [  # Gaussians add in variance
        (math.hypot(blur_x, pasted), math.hypot(blur_y, pasted))
        for (blur_x, blur_y, _), pasted in zip(looks, map(antialias, magnification), strict=True)
    ]
    if all(max(blur) < _MIN_BLUR_PX for blur in blurs):
        blurred = changes
    else:
        blurred = torch.cat(
            [
                _gaussian(_gaussian(change[None], blur_x, dim=3), blur_y, dim=2)
                for change, (blur_x, blur_y) in zip(changes, blurs, strict=True)
            ]
        )
    if all(grain == 0 for _, _, grain in looks):
        return blurred, None
    levels = upload([grain for _, _, grain in looks], changes.device)[:, None, None, None]
    return blurred, levels * (shown > _SHOWN)


def antialias(magnification: float) -> float:
    """The blur (a Gaussian's sigma, in crop pixels) that a crop magnifying a face
    ``magnification`` times needs before it is pasted into the frame: what an image library's
    antialiased shrink averages (a tent one frame pixel wide either side, a variance of
    ``magnification**2 / 6`` crop pixels squared), less the tent of one crop pixel that the paste's
    lookup averages itself (1/6); none for a crop that does not magnify the face. On the
    stability benchmark's group photo drifting 0.25 px a frame, the swapped astronauts (crops
    magnifying 1.65x: a blur of 0.54 crop pixels) changed 1.11-1.17x as much as the input from
    frame to frame, 1.04-1.09x with it (the Grace Hoppers, 1.17x: 0.25, below any blur applied)."""
    return math.sqrt(max((magnification**2 - 1) / 6, 0.0))


@functools.lru_cache(maxsize=_KEPT)
def _noise_left(size: int, magnified: float) -> float:
    """The share of white noise in a crop of ``size`` that resampling it into a frame it
    magnifies ``magnified`` times leaves, as :func:`_noise_power` sees it."""
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn((1, 1, size, size), generator=generator)
    frame_size = max(8, round(size / magnified))
    pasted = F.interpolate(noise, size=(frame_size, frame_size), mode="bilinear", align_corners=False)
    return _level(float(_noise_power(pasted, torch.ones_like(pasted))))


@functools.lru_cache(maxsize=_KEPT)
def _noise_seen(size: int, magnified: float, scale: float) -> float:
    """The share of white noise in the frame that a look sees in the change of the target crop
    (of ``size``, magnifying the frame ``magnified`` times, resized by ``scale``) from one frame
    to the next, as :func:`_change_power` sees it, per frame."""
    generator = torch.Generator().manual_seed(0)
    frame_size = max(8, round(size / magnified))
    now, before = (
        _resized(
            F.interpolate(noise[None, None], size=(size, size), mode="bilinear", align_corners=False), scale
        )
        for noise in torch.randn((2, frame_size, frame_size), generator=generator)
    )
    return _level(float(_change_power(now, before, torch.ones_like(now))) / 2)


def _resized(x: torch.Tensor, scale: float) -> torch.Tensor:
    """``x`` (1, C, S, S) at ``scale`` (<= 1), each pixel the mean of those it covers."""
    if scale >= 1:
        return x
    size = max(8, round(x.shape[-1] * scale))
    return F.interpolate(x, size=(size, size), mode="area")


def _resized_to(x: torch.Tensor, size: int) -> torch.Tensor:
    """``x`` (1, C, S', S') at ``size``, each pixel the mean of those it covers."""
    return x if x.shape[-1] == size else F.interpolate(x, size=(size, size), mode="area")


def _noise_power(luma: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """(1,): the mean square of the residual against the four neighbours' mean in the smoothest
    of the 6x6 pixel blocks of ``luma`` (1, 1, H, W) inside ``inside``: wrinkles, brows and edges
    raise the other blocks, noise all of them (NaN if no block is inside)."""
    return _block_powers(luma, inside).nanquantile(_SMOOTHEST)[None]


def _change_power(now: torch.Tensor, before: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """(1,): the mean square of the residual of ``now - before`` (1, 1, H, W) against the four
    neighbours' mean, over the 6x6 blocks inside ``inside`` where their mean is smoothest, once
    what the face's own motion explains is taken out (:func:`_unmoved`). The blocks are picked by
    the mean, not by the change: where the change is smallest is where the noise happened to be,
    and wrinkles are left out. (For white noise the mean and the change of two frames are
    independent, so the pick leaves the change's level as it is.)"""
    mean = (now + before) / 2
    smooth = _block_powers(mean, inside)
    changed = _block_powers(_unmoved(now - before, mean, inside), inside)
    picked = smooth <= smooth.nanquantile(_SMOOTHEST)  # (no NaN is picked; no host read)
    return (torch.where(picked, changed, 0.0).sum() / picked.sum())[None]


def _unmoved(change: torch.Tensor, mean: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """``change`` (1, 1, H, W) less its least-squares fit, over ``inside``, by the first and second
    derivatives of ``mean`` along x and y: what a face that moved a fraction of a pixel changes by
    (the shift, and the softening that resampling at a new fraction of a pixel brings). The crops
    are aligned to the face, but a moving face sits a little elsewhere in each, and a print's grain
    or a skin's pores, moved, read as the sensor's noise (a photo drifting 0.25 px a frame read
    2.2-2.7 levels where there are 2.0; 1.7-2.5 with the fit taken out)."""
    p = F.pad(mean, (1, 1, 1, 1), mode="replicate")
    left, right, up, down = p[..., 1:-1, :-2], p[..., 1:-1, 2:], p[..., :-2, 1:-1], p[..., 2:, 1:-1]
    motions = torch.cat([right - left, down - up, right + left - 2 * mean, down + up - 2 * mean]).flatten(1)
    weighted = motions.double() * inside.flatten().double()
    gram = weighted @ motions.double().T  # (4, 4)
    ridge = 1e-12 * torch.eye(4, dtype=gram.dtype, device=gram.device)  # a flat crop: no fit
    fit, _ = torch.linalg.solve_ex(gram + ridge, weighted @ change.flatten().double())  # (no host read)
    return change - (fit.to(change.dtype) @ motions).view_as(change)


def _block_powers(luma: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """The mean square of the residual against the four neighbours' mean in each 6x6 block of
    ``luma`` (1, 1, H, W), flattened; NaN for blocks not all inside ``inside``."""
    p = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    around = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) / 4
    blocks = F.avg_pool2d((luma - around) ** 2, _NOISE_BLOCK)
    return blocks.masked_fill(F.avg_pool2d(inside, _NOISE_BLOCK) <= 0.99, torch.nan).flatten()


def _level(power: float) -> float:
    """The standard deviation of white noise whose residual has mean square ``power`` (its
    variance is 1.25 s^2); 0 for none measured."""
    return 0.0 if math.isnan(power) else (power / 1.25) ** 0.5


def _energies(target: torch.Tensor, swap: torch.Tensor, inside: torch.Tensor, dim: int) -> torch.Tensor:
    """The gradient energies along ``dim`` that :func:`_matching_blur` compares: the target's as
    it is and blurred by one pixel, then the swap's at each rung, then at each rung and a pixel.
    Each rung blurs the one before it by what is missing (Gaussians add in variance), so no
    kernel is wide."""
    rungs, previous, blurred = [], 0.0, swap
    for sigma in _LADDER:
        blurred = _gaussian(blurred, (sigma**2 - previous**2) ** 0.5, dim)
        rungs.append(blurred)
        previous = sigma
    return torch.cat(
        [_energy(target, inside, dim), _energy(_gaussian(target, 1.0, dim), inside, dim)]
        + [_energy(rung, inside, dim) for rung in rungs]
        + [_energy(_gaussian(rung, 1.0, dim), inside, dim) for rung in rungs]
    )


def _matching_blur(energies: list[float], target_noise: float) -> float:
    """The Gaussian blur (pixels) along an axis that makes the swap as soft as the target, from
    :func:`_energies` along it, interpolated on the ladder; 0 if the target is as sharp as the
    swap or sharper.

    Softness is the share of the gradient energy that survives a further blur of one pixel: close
    to 0 for a crisp picture, close to 1 for a blurred one, whatever the face's own texture
    (wrinkles have more energy, not a different share). The target's noise, whose energy follows
    from its level, is taken out of both of its energies first."""
    energy = max(energies[0] - target_noise**2 / 2, 1e-12)
    blurred = max(energies[1] - target_noise**2 * _BLURRED_NOISE_ENERGY, 0.0)
    wanted = min(blurred / energy, 1.0)
    rungs = len(_LADDER)
    swap, swap_and_a_pixel = energies[2 : 2 + rungs], energies[2 + rungs :]
    softness = [after / max(before, 1e-12) for before, after in zip(swap, swap_and_a_pixel, strict=True)]
    if softness[0] >= wanted:
        return 0.0
    for k in range(1, rungs):  # softness grows with the blur: interpolate between rungs
        if softness[k] >= wanted:
            share = (wanted - softness[k - 1]) / max(softness[k] - softness[k - 1], 1e-12)
            return _LADDER[k - 1] + share * (_LADDER[k] - _LADDER[k - 1])
    return _LADDER[-1]


def _energy(luma: torch.Tensor, inside: torch.Tensor, dim: int) -> torch.Tensor:
    """(B,): the mean squared central difference along ``dim`` over ``inside``."""
    ahead, behind = luma.narrow(dim, 2, luma.shape[dim] - 2), luma.narrow(dim, 0, luma.shape[dim] - 2)
    where = inside.narrow(dim, 1, luma.shape[dim] - 2)
    squared = ((ahead - behind) / 2) ** 2 * where
    return squared.sum(dim=(1, 2, 3)) / where.sum(dim=(1, 2, 3)).clamp(min=1)


def _gaussian(x: torch.Tensor, sigma: float, dim: int) -> torch.Tensor:
    """``x`` (B, C, H, W) blurred along ``dim`` (2: rows, 3: columns) by a Gaussian of ``sigma``
    pixels, edges replicated; unchanged below :data:`_MIN_BLUR_PX`. A weighted sum of shifted
    views, as the masks' filters are: no convolution, whose first call for each kernel size costs
    oneDNN's code generation on the CPU (2.6 s for a look's ladder, on the first frame)."""
    if sigma < _MIN_BLUR_PX:
        return x
    taps = _taps(sigma)
    radius, length = len(taps) // 2, x.shape[dim]
    padded = F.pad(x, (radius, radius, 0, 0) if dim == 3 else (0, 0, radius, radius), mode="replicate")
    out = padded.narrow(dim, 0, length) * taps[0]
    for k in range(1, len(taps)):
        out.add_(padded.narrow(dim, k, length), alpha=taps[k])
    return out


def _taps(sigma: float) -> list[float]:
    """The normalised 1D Gaussian of ``sigma`` pixels, out to three sigmas."""
    radius = max(1, round(3 * sigma))
    weights = [math.exp(-(k * k) / (2 * sigma * sigma)) for k in range(-radius, radius + 1)]
    return [w / sum(weights) for w in weights]


_UNIT = _taps(1.0)
_BLURRED_NOISE_ENERGY = sum(
    ((after - before) / 2) ** 2 for before, after in zip(_UNIT, _UNIT[2:], strict=False)
)
"""The mean square central difference of white noise of sigma 1 blurred by one pixel (as it is:
1 / 2)."""
