"""Colour transfer in CIE Lab (Reinhard et al. 2001), restricted to a face mask, with the darker
tones moved as light moves them.

Reinhard's transfer moves each channel by its mean and spread: a darker source's skin lifted to a
lighter target's lifted its darkest features (irises, pupils, lashes) by as much, and with their
colour shifted by the skin's whole shift they came out grey: Grace Hopper's dark brown irises (sRGB
28, 14, 11) on the astronaut at (57, 57, 50), the eyes pale and hollow. A change of light
multiplies luminance, and colour in Lab scales with lightness, so here the lightness moves as a
power of L* + 16 (a cube root of luminance) about the faces' geometric means, with Reinhard's
spread ratio at the skin's mean, and the colour's shift is scaled by a tone's lightness over the
skin's, up to the whole shift: the skin moves as before, and her irises come out darker (50, 45,
42; L* 19 against 24)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from rtswap.device import Constant

_RGB_TO_XYZ = Constant(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_XYZ_TO_RGB = Constant(torch.linalg.inv(_RGB_TO_XYZ.cpu))
_WHITE = Constant([0.950456, 1.0, 1.088754])
LUMA = Constant([0.299, 0.587, 0.114])
"""Rec. 601 luma weights of R, G, B (gamma-encoded): brightness for the looks' measures."""
_EPS = 6.0 / 29.0
STATS_STRIDE = 4
LIGHT_OFFSET = 16.0
"""L* + this is 116 times the cube root of luminance (above the darkest tones): the light's scale."""
SPREAD_LOW = (0.9, 0.5, 0.5)
"""The target's spread over the source's is kept above this, per channel (L, a, b)... The
lightness's spread shrinks by a tenth at most: a source more contrasty than its target (an older
face, a harsher light, dark eyes) keeps its features' darkness, which is its look. Shrunk as far
as the colour's may be, Grace Hopper's irises on the astronaut came out lighter than either
face's (L 37 against 18 and 29) and the whole eye area pale; keeping all of it changed the mouth
judge's reading of one demo frame past the quality gate (docs/quality.md). For a target darker
than the source (a dimmer light, darker skin) the lightness's limits, this and
:data:`SPREAD_HIGH`, are scaled by the ratio of the faces' light (:func:`light_mean`): a dimmer
light scales every tone's L* + 16, and the features' spread with it. Held to the unscaled limit,
Grace Hopper's face (cheeks L* ~64) on a darker astronaut (~45,
:func:`rtswap.testing.skin.darker_skin`) kept her features' whole depth against a darker skin: her
wrinkles and lids stood out like cuts."""
SPREAD_HIGH = 2.0
"""...and at most this (a flat region cannot amplify noise)."""
_SPREAD_LOW = Constant(SPREAD_LOW)
MIN_VISIBLE = 0.03
"""Below this share of the crop under the weight (a face almost all covered: a mask, glasses and a
hand), the target's colour is trusted less and less: the swap keeps more of the source's colour
(a and b), with the target's lightness."""
GREY_SPREAD = (1.0, 2.0)
"""A face whose colour (a, b) spreads less than the first over it, taken to the light of
:data:`GREY_LIGHT` (a black-and-white, sepia or faded photo or film: a colour face spreads 4-13)
is grey. A grey source has no colour to give, and a grey target wants none: either way the swap
takes the target's colour (its skin, lips and eyes, averaged over 8 px blocks of the crop so that
its wrinkles' and rims' tints stay out), with the source's lightness moved as usual. Above the
second both keep the transfer above; in between, a mix (:func:`grey_share`). Where little of the
target is visible (:data:`MIN_VISIBLE`), its colour is taken less, as above."""
GREY_LIGHT = 100.0
"""Colour in Lab scales with lightness, so a darker skin's spreads less: the darker-skinned
astronaut's 2.4-2.5 (:func:`rtswap.testing.skin.darker_skin`), a darker variant's (its factors
0.12, 0.08, 0.06) 1.8-2.2, which read as partly grey: swapped onto itself, a fifth of its colour
came from the target's blocks. So a face's spread is taken to the light of L* + 16 = 100, about a
light skin's, by the ratio of that to its own (:func:`light_mean`): 4.4 and 5.3 (the astronaut's
4.8, Grace Hopper's 12.8); a black-and-white photo's stays near 0."""
CLIPPED = 0.98
"""A pixel with a channel this high (of 1), in either face, has lost its colour to the camera's
clipping: an over-exposed cheek reads white or yellow whatever the skin's colour. The colour's
statistics (a, b) leave such pixels out, but for :data:`CLIPPED_SHARE` of their weight (a face
clipped all over still has statistics); the lightness's keep them. Onto Grace Hopper's photo times
1.6, three quarters of her skin clipped, her skin's a* read 14 against 37 where it is not, and the
swap came out pale against her warm face (times 1.3: 24 against 35)."""
CLIPPED_SHARE = 0.01
GREY_BLOCK = 2 * STATS_STRIDE
"""The target's colour that a grey source takes is its mean over blocks of this many pixels."""
EYES_GAIN = 2.0
"""Where the source's eyes show their whites (:data:`WHITES_SHOW`), its eyes' openings take the
light of the target's: L* + 16 times the target's openings' lighter half (:func:`whites`) over the
source's, within this factor either way, the colour shifted as theirs is in proportion to L* + 16
(a tint is a change of light: shifted alike, the dark irises behind an over-exposed target's amber
lenses came out red). The skin's move is a change of light times a change of skin: from a darker
skin to a lighter one it lifted the eyes' whites past white (eyes that glowed), and the other way
it dimmed them grey, the irises near black. Whites are much alike from person to person, so the
change of theirs is the light's alone. A target whose eyes show little white gives the source's
eyes its own openings' light and tint: the astronaut's behind Grace Hopper's amber lenses come out
dimmer and warmer, as hers are."""
WHITES_SHOW = (0.8, 0.86)
"""The source's whites' L* + 16 over its skin's (:func:`light_mean`) from which its eyes count as
showing their whites, not at all below the first, wholly above the second. In 128-192 px crops:
0.86-0.94 on the astronaut (smiling, her eyes narrowed; the less the smaller her face), 1.30-1.34
on her darker-skinned variant. Small or shaded eyes, or eyes behind glasses' glare, show little
white, and their openings' lighter half is not it (Grace Hopper's: 0.69-0.77): such a source's
eyes take the skin's change of light (L* + 16 times the target's skin's over the source's, within
:data:`EYES_GAIN`) and its colour, not its change of contrast, which lifted Grace Hopper's
near-black irises to a pale blue-grey on the lighter astronaut. Decided by the source alone, a
still texture: decided by the target's eyes too, a blink switched it off for a frame, and the eyes
flashed."""


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] -> Lab (L in [0, 100])."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.like(rgb), linear) / _WHITE.like(rgb)[None, :, None, None]
    f = torch.where(xyz > _EPS**3, xyz.clamp(min=1e-12) ** (1 / 3), xyz / (3 * _EPS**2) + 4 / 29)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`rgb_to_lab`; result clamped to [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = torch.where(f > _EPS, f**3, 3 * _EPS**2 * (f - 4 / 29)) * _WHITE.like(lab)[None, :, None, None]
    linear = torch.einsum("ij,bjhw->bihw", _XYZ_TO_RGB.like(lab), xyz).clamp(0, 1)
    return torch.where(
        linear > 0.0031308, 1.055 * linear.clamp(min=1e-12) ** (1 / 2.4) - 0.055, 12.92 * linear
    )


def masked_stats(image: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel weighted mean and std. image (B, C, H, W), weight (B, 1, H, W) -> (B, C, 1, 1) each."""
    total = weight.sum(dim=(2, 3), keepdim=True).clamp(min=1e-6)
    mean = (image * weight).sum(dim=(2, 3), keepdim=True) / total
    var = ((image - mean) ** 2 * weight).sum(dim=(2, 3), keepdim=True) / total
    return mean, var.sqrt()


def _skin_stats(
    lab: torch.Tensor, weight: torch.Tensor, colour_weight: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, 3, 1, 1) mean and spread of ``lab``: L* over ``weight``, a and b over ``colour_weight``
    (:data:`CLIPPED`)."""
    (l_mean, l_std), (c_mean, c_std) = masked_stats(lab, weight), masked_stats(lab, colour_weight)
    return torch.cat([l_mean[:, :1], c_mean[:, 1:]], dim=1), torch.cat([l_std[:, :1], c_std[:, 1:]], dim=1)


def light_mean(lab: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(B, 3, h, w) Lab, (B, 1, h, w) weight -> (B, 1, 1, 1): the weighted geometric mean of L* + 16."""
    return masked_stats((lab[:, :1] + LIGHT_OFFSET).log(), weight)[0].exp()


def whites(lab: torch.Tensor, eyes: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) Lab, (B, 1, H, W) the eyes' openings in [0, 1] -> (B, 3, 1, 1): the mean Lab of
    the openings' lighter half, their whites (0 where there are none)."""
    lightness = lab[:, :1]
    return masked_stats(lab, eyes * (lightness > masked_stats(lightness, eyes)[0]))[0]


def _eyes_in_their_light(
    moved: torch.Tensor,
    source: torch.Tensor,
    target: torch.Tensor,
    eyes: torch.Tensor,
    src_light: torch.Tensor,
    tgt_light: torch.Tensor,
) -> torch.Tensor:
    """(B, 3, H, W) Lab as the skin moved it, with the eyes' openings in the light of the target's
    eyes where the source's show their whites (:data:`EYES_GAIN`, :data:`WHITES_SHOW`): L* + 16
    scaled as the whites' is, the colour shifted as theirs is in proportion to L* + 16; elsewhere
    L* + 16 scaled as the skin's is, the colour as the skin moved it. source: the source's Lab;
    target: its RGB; the lights: :func:`light_mean` of the skin."""
    target_whites, source_whites = whites(rgb_to_lab(target), eyes), whites(source, eyes)
    target_light, source_light = target_whites[:, :1] + LIGHT_OFFSET, source_whites[:, :1] + LIGHT_OFFSET
    low, high = WHITES_SHOW
    shown = ((source_light / src_light - low) / (high - low)).clamp(0, 1)
    gain = (tgt_light / src_light).clamp(1 / EYES_GAIN, EYES_GAIN)
    gain = gain + ((target_light / source_light).clamp(1 / EYES_GAIN, EYES_GAIN) - gain) * shown
    tint = (target_whites[:, 1:] - source_whites[:, 1:]) / source_light  # per unit of L* + 16
    in_eyes = torch.cat(
        [
            (source[:, :1] + LIGHT_OFFSET) * gain - LIGHT_OFFSET,
            source[:, 1:] + tint * (source[:, :1] + LIGHT_OFFSET),
        ],
        dim=1,
    )
    return moved + (in_eyes - moved) * eyes * torch.cat([torch.ones_like(shown), shown, shown], dim=1)


def grey_share(
    source_std: torch.Tensor, target_std: torch.Tensor, src_light: torch.Tensor, tgt_light: torch.Tensor
) -> torch.Tensor:
    """(B, 3, 1, 1) Lab spreads of the source and the target, (B, 1, 1, 1) their skins' light
    (:func:`light_mean`) -> (B, 1, 1, 1): how much of the colour (a, b) comes from the target's
    pixels (:data:`GREY_SPREAD`, :data:`GREY_LIGHT`)."""
    spread = torch.minimum(
        *(
            torch.linalg.vector_norm(std[:, 1:], dim=1, keepdim=True) * GREY_LIGHT / light
            for std, light in ((source_std, src_light), (target_std, tgt_light))
        )
    )
    low, high = GREY_SPREAD
    return ((high - spread) / (high - low)).clamp(0, 1)


def transfer_color(
    source: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, eyes: torch.Tensor
) -> torch.Tensor:
    """Give ``source`` the Lab mean and spread of ``target`` over ``weight`` (both images aligned),
    its darker tones moved as light moves them (above), its eyes' openings in the light of the
    target's eyes where they show their whites, else of its skin (:data:`EYES_GAIN`).

    source, target: (B, 3, H, W) RGB [0, 1]; weight: (B, 1, H, W) in [0, 1], the skin to compare;
    eyes: (B, 1, H, W) in [0, 1], the eyes' openings.
    The spread ratio is limited (:data:`SPREAD_LOW`, :data:`SPREAD_HIGH`); the colour's statistics
    leave clipped pixels out (:data:`CLIPPED`); the colour (a, b) is moved less where little is
    visible (:data:`MIN_VISIBLE`), and with a grey source or target
    the swap takes the target's colour (:data:`GREY_SPREAD`). Statistics are taken at a quarter of
    the resolution: they barely change and it saves a full-size conversion.
    """
    small_weight = F.avg_pool2d(weight, STATS_STRIDE)
    small_rgb = [F.avg_pool2d(x, STATS_STRIDE) for x in (source, target)]
    small_source, small_target = (rgb_to_lab(x) for x in small_rgb)
    unclipped = (torch.maximum(*(x.amax(dim=1, keepdim=True) for x in small_rgb)) < CLIPPED).to(weight.dtype)
    colour_weight = small_weight * (unclipped + CLIPPED_SHARE)
    src_mean, src_std = _skin_stats(small_source, small_weight, colour_weight)
    tgt_mean, tgt_std = _skin_stats(small_target, small_weight, colour_weight)
    src_light, tgt_light = (light_mean(x, small_weight) for x in (small_source, small_target))
    dimmer = (tgt_light / src_light).clamp(max=1)  # (B, 1, 1, 1)
    scale = torch.cat([dimmer, torch.ones_like(dimmer), torch.ones_like(dimmer)], dim=1)  # L* only
    low = _SPREAD_LOW.like(tgt_std)[None, :, None, None] * scale
    ratio = torch.minimum(torch.maximum(tgt_std / src_std.clamp(min=1e-3), low), SPREAD_HIGH * scale)
    lab = rgb_to_lab(source)
    tone = (lab[:, :1] + LIGHT_OFFSET) / src_light
    lightness = tgt_light * tone ** (ratio[:, :1] * src_light / tgt_light) - LIGHT_OFFSET
    shift = tgt_mean[:, 1:] - ratio[:, 1:] * src_mean[:, 1:]
    moved = torch.cat([lightness, lab[:, 1:] * ratio[:, 1:] + shift * tone.clamp(max=1)], dim=1)
    moved = _eyes_in_their_light(moved, lab, target, eyes, src_light, tgt_light)
    blocks = F.avg_pool2d(small_target[:, 1:], GREY_BLOCK // STATS_STRIDE)
    colour = F.interpolate(blocks, size=source.shape[-2:], mode="bilinear", align_corners=False)
    colour = moved[:, 1:] + (colour - moved[:, 1:]) * grey_share(src_std, tgt_std, src_light, tgt_light)
    visible = (small_weight.mean(dim=(2, 3), keepdim=True) / MIN_VISIBLE).clamp(max=1)  # (B, 1, 1, 1)
    colour = lab[:, 1:] + (colour - lab[:, 1:]) * visible  # the lightness always moves
    return lab_to_rgb(torch.cat([moved[:, :1], colour], dim=1))
