"""How far a face's pixels moved between two frames: OpenCV's ECC alignment (Evangelidis &
Psarakis, 2008) of the face's patch, a translation found to about a hundredth of a pixel.

The face mesh's landmarks jitter by 0.06-0.15 px a frame in sensor noise, so their motion is
smoothed, and a smoothed place lags a face that moves (it starts at rest, and falls behind over
the first frames of a motion: a crawl, then a trail). The pixels' motion varies by 0.003-0.013 px
(sd) from frame to frame on the stability benchmark's still and drifting faces, so the place can
be carried by it and only the landmarks' own jitter smoothed (:class:`rtswap.track.smooth.LandmarkSmoother`).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from rtswap.detect.base import Pixels

_SIDE = 80
"""A face's patch is read at most this many pixels on its longer side: ~0.6 ms a face on a CPU core
(docs/speed.md; 0.8 at 96 px, the stability benchmark's faces as steady; at 64 px, 0.4 ms, its
readings of the astronaut's photo spread by 0.04 px between draws of sensor noise)."""
_MIN_CORRELATION = 0.8
"""Patches less alike than this, once aligned, give no reading: the face changed as well as moved."""
_ITERATIONS, _EPS = 20, 1e-3
_AGREE_PX, _AGREE_SHARE = 0.1, 0.25
"""The top and bottom halves of a face are read apart, and give no reading unless they moved alike:
within 0.1 px and a quarter of the motion (a nod moves the brow and the chin a little apart; at
0.05 px and a fifth, a nod's readings were refused at its turns, and it strayed up to 0.75 px). A
hand over the mouth moves one half only."""
_GREY = (0.299, 0.587, 0.114)
"""RGB to luma, as OpenCV's ``COLOR_RGB2GRAY``."""


class ImageMotion:
    """How far one face's pixels moved since the last frame, in frame pixels: its patch in the
    last frame (at the box the face had there) against the same box in this one."""

    def __init__(self) -> None:
        self._box: tuple[int, int, int, int] | None = None
        self._patch: np.ndarray | None = None
        self._last = np.zeros(2)

    def __call__(self, image: Pixels, box: np.ndarray) -> np.ndarray | None:
        """(2,) the motion since the last call into ``image`` (HxWx3 RGB) of the face now at
        ``box`` (x0, y0, x1, y1), or None: the first call, or no clear reading."""
        motion, now, box_now = None, None, _clipped(box, image.shape)
        if self._box is not None and self._patch is not None:
            now, scale = _patch(image, self._box)
            half = now.shape[0] // 2
            guess = self._last * scale
            top = _aligned(self._patch[:half], now[:half], guess)
            bottom = _aligned(self._patch[half:], now[half:], guess)
            if top is not None and bottom is not None and _agree(top, bottom):
                motion = (top + bottom) / 2 / scale
        self._last = np.zeros(2) if motion is None else motion
        if box_now != self._box or now is None:  # (a face that keeps still keeps its box: cut once)
            now = None if box_now is None else _patch(image, box_now)[0]
        self._box, self._patch = box_now, now
        return motion


def _agree(top: np.ndarray, bottom: np.ndarray) -> bool:
    apart, moved = float(np.linalg.norm(top - bottom)), float(np.linalg.norm(top + bottom)) / 2
    return apart <= _AGREE_PX + _AGREE_SHARE * moved


def _clipped(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    x0, y0 = max(int(box[0]), 0), max(int(box[1]), 0)
    x1, y1 = min(int(np.ceil(box[2])), shape[1]), min(int(np.ceil(box[3])), shape[0])
    return (x0, y0, x1, y1) if x1 - x0 >= 16 and y1 - y0 >= 16 else None


def _patch(image: Pixels, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The box's luma as float32, shrunk to at most ``_SIDE`` px, and its (x, y) scale."""
    x0, y0, x1, y1 = box
    shrink = min(1.0, _SIDE / max(x1 - x0, y1 - y0))
    size = (max(round((x1 - x0) * shrink), 16), max(round((y1 - y0) * shrink), 16))
    if isinstance(image, torch.Tensor):  # on the device: only the small patch comes back
        rgb = image[y0:y1, x0:x1].float()
        grey = rgb[..., 0] * _GREY[0] + rgb[..., 1] * _GREY[1] + rgb[..., 2] * _GREY[2]
        grey = torch.nn.functional.interpolate(grey[None, None], size=size[::-1], mode="area")[0, 0]
        patch = grey.cpu().numpy()
    else:
        patch = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
        if size != (x1 - x0, y1 - y0):
            patch = cv2.resize(patch, size, interpolation=cv2.INTER_AREA)
    return patch.astype(np.float32), np.array([size[0] / (x1 - x0), size[1] / (y1 - y0)])


def _aligned(before: np.ndarray, now: np.ndarray, guess: np.ndarray) -> np.ndarray | None:
    """The shift that carries ``before``'s content to where it is in ``now``, looked for from
    ``guess``; None where the search does not converge or the patches do not match."""
    warp = np.eye(2, 3, dtype=np.float32)
    warp[:, 2] = guess
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, _ITERATIONS, _EPS)
    try:
        correlation, found = cv2.findTransformECC(before, now, warp, cv2.MOTION_TRANSLATION, criteria, None)
    except cv2.error:  # it raises where it does not converge (a face that changed too much)
        return None
    return np.asarray(found)[:, 2].astype(np.float64) if correlation >= _MIN_CORRELATION else None
