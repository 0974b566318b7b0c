"""A source's thin holes above its eyes, filled from its own pixels around them.

What covers a source on both sides of its face (hair, a glasses frame) is left out of its texture,
and the target's pixels show there. Above the eyes that was the target's brows through the gap left
by the source's frame's top bar, a line about 5 px thick across the brows; and with that gap (and
the bar's blurred remnant) in her texture the camera match, whose decision there sits near its
threshold, read the swap as sharper than the target down the face and blurred the change by up to 2
crop pixels, which lets the target's own detail back: the target's lids and catchlights came into
the swap's eyes (Grace Hopper onto demo frames 45 and 119). A hole that thin is filled from the
source's skin and brows on either side of it (OpenCV's Telea inpainting). Wider holes (a fringe, a
hand) stay holes, and so do holes beside and below the eyes (a frame's lower rims): filled, the
source's own shading there came through where the target's light did (the quality gate's light
correlation 0.01-0.03 lower on Grace Hopper's pairs, docs/quality.md).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.geometry.topology import FACE_OVAL, LEFT_EYE_HOLE, RIGHT_EYE_HOLE

_THIN = 6 / 256
"""A hole is thin where a disc of this radius (a share of the crop) does not fit in it."""
_COVERED = 0.5
"""A texture pixel with less validity than this is a hole; one with less than :data:`_WHOLE` next
to a thin hole is its soft edge, filled with it."""
_WHOLE = 0.98
_INPAINT_RADIUS = 3 / 256
"""Telea's neighbourhood, as a share of the crop."""


def thin_holes_filled(textures: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
    """(V, 4, S, S) premultiplied RGB and validity, (V, 478, 2+) landmarks in crop pixels -> the
    same, each view's thin holes above its eyes filled (RGB from its pixels around, validity 1)."""
    views = zip(textures, landmarks.cpu().numpy(), strict=True)
    return torch.stack([_filled(texture, points[:, :2]) for texture, points in views])


def _filled(texture: torch.Tensor, points: np.ndarray) -> torch.Tensor:
    size = texture.shape[-1]
    validity = texture[3].cpu().numpy()
    outline = [np.round(points[FACE_OVAL]).astype(np.int32)]
    face = cv2.fillPoly(np.zeros((size, size), np.uint8), outline, (1,))
    covered = validity < _COVERED
    hole = covered & (face > 0)
    radius = max(1, round(size * _THIN))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    wide = _grown(cv2.morphologyEx(hole.astype(np.uint8), cv2.MORPH_OPEN, disc) > 0)
    eyes_top = min(points[LEFT_EYE_HOLE, 1].min(), points[RIGHT_EYE_HOLE, 1].min())
    thin = hole & ~wide & (np.arange(size)[:, None] < eyes_top)
    if not thin.any():
        return texture
    soft = validity < _WHOLE
    redone = thin | (_grown(thin) & soft)
    unknown = covered | (_grown(covered) & soft)  # nothing covered, nor its soft edge, fills
    rgb = (texture[:3] / texture[3:].clamp(min=1e-3)).clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    pixels, reach = np.round(rgb * 255).astype(np.uint8), max(1, round(size * _INPAINT_RADIUS))
    painted = cv2.inpaint(pixels, unknown.astype(np.uint8), reach, cv2.INPAINT_TELEA)
    rgb = np.where(redone[..., None], painted.astype(np.float32) / 255, rgb)
    validity = np.where(redone, 1.0, validity).astype(np.float32)
    out = np.concatenate([rgb.transpose(2, 0, 1) * validity, validity[None]])
    return torch.from_numpy(out).to(texture)


def _grown(mask: np.ndarray) -> np.ndarray:
    """A bool mask grown by a pixel."""
    return cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
