"""Marking output as synthetic: a visible corner label, and metadata in every file rtswap writes."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

TEXT = "AI face swap"
METADATA = {"comment": "Synthetic: face swapped by rtswap", "rtswap": "face-swap"}


def stamp(image: np.ndarray) -> np.ndarray:
    """Draw a small visible label in the bottom-right corner of an HxWx3 uint8 RGB image, in place."""
    return text_box(image, TEXT, "bottom-right")


def text_box(image: np.ndarray, text: str, corner: Literal["top-left", "bottom-right"]) -> np.ndarray:
    """White text on a darkened box in a corner of an HxWx3 uint8 image, in place, sized to the image."""
    height, width = image.shape[:2]
    scale = max(0.4, height / 1080)
    thickness = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    pad = round(6 * scale)
    if corner == "bottom-right":
        x0, y0 = width - tw - 3 * pad, height - th - base - 3 * pad
    else:
        x0, y0 = pad, pad
    box = image[y0 : y0 + th + base + 2 * pad, x0 : x0 + tw + 2 * pad]
    box[:] = (box * 0.4).astype(np.uint8)
    cv2.putText(
        image,
        text,
        (x0 + pad, y0 + pad + th),
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        thickness,
        cv2.LINE_AA,
    )
    return image
