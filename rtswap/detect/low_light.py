"""Finding faces in a dark room: the analysis looks at a brightened copy of a dark frame.

Dim light with a webcam's gain turned up gives a dark, noisy picture in which a person still sees
a face at once, but the detector and the face mesh find none (or lose it on some frames, and the
swap flickers back to the real face). When a frame's mean brightness is below ``DARK``, detection
and tracking run on a copy with the sensor's noise smoothed (a Gaussian of ``_SMOOTH_PX``) and the
light raised to a middle grey; the swap still goes into the original frame. A frame that is not
dark is analysed as it is, at no cost beyond a look at a sparse grid of its pixels.
"""

from __future__ import annotations

from typing import TypeVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from rtswap.blend.color import LUMA
from rtswap.blend.mask import blur
from rtswap.frame import Frame

Image = TypeVar("Image", np.ndarray, torch.Tensor)

DARK = 0.25
"""Mean luma ([0, 1]) below which a frame is brightened for the analysis."""
_GREY = 0.45
"""The mean luma the brightened copy gets."""
_SMOOTH_PX = 2.0
_SMOOTH_RADIUS = 2
"""Two box blurs of this radius: a Gaussian of about ``_SMOOTH_PX``."""
_LOOK_PX = 64
"""A frame's brightness is judged on this many pixels across it (and as many apart down it):
reading all of a 720p frame for it cost 1 ms a frame on the CPU."""


def for_analysis(image: Image) -> Image:
    """``image`` (HxWx3 uint8 RGB, an array or a tensor on any device) as the face analysis
    should see it: itself, or if it is dark, a brightened, smoothed copy of the same kind."""
    if isinstance(image, np.ndarray):
        return _brightened_array(image)
    return _brightened_tensor(image)


def analysis_image(frame: Frame, on_device: bool) -> np.ndarray | torch.Tensor:
    """What the face analysis of ``frame`` looks at (its pixels on the device, or on the host),
    made once per frame (:attr:`Frame.analysed`)."""
    if frame.analysed is None:
        frame.analysed = for_analysis(frame.image) if on_device else for_analysis(frame.host_image())
    return frame.analysed


def _brightened_array(image: np.ndarray) -> np.ndarray:
    step = max(1, image.shape[1] // _LOOK_PX)
    samples = np.ascontiguousarray(image[step // 2 :: step, step // 2 :: step])  # not the whole frame
    mean = float(cv2.cvtColor(samples, cv2.COLOR_RGB2GRAY).mean()) / 255
    if mean >= DARK:
        return image
    smooth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), _SMOOTH_PX)
    return np.clip(smooth * (_GREY / max(mean, 1e-3)), 0, 255).astype(np.uint8)


def _brightened_tensor(image: torch.Tensor) -> torch.Tensor:
    pixels = image.permute(2, 0, 1)[None].to(torch.float32)
    weights = LUMA.on(image.device)[None, :, None, None]
    mean = float((F.adaptive_avg_pool2d(pixels, 1) * weights).sum()) / 255  # one read a frame
    if mean >= DARK:
        return image
    smooth = blur(pixels, _SMOOTH_RADIUS)  # a box twice: close to the Gaussian the array path uses
    brightened = (smooth * (_GREY / max(mean, 1e-3))).clamp(0, 255).round().to(torch.uint8)
    return brightened[0].permute(1, 2, 0).contiguous()
