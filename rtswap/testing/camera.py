"""A cheap webcam's picture, made from a good photo: motion or focus blur, a dim or dark room
with sensor noise; and the measures of a face's sharpness and grain that go with them (test and
benchmark inputs for :mod:`rtswap.blend.camera` and the low-light analysis)."""

from __future__ import annotations

import cv2
import numpy as np


def motion_blurred(image: np.ndarray, length: int, degrees: float = 0.0) -> np.ndarray:
    """``image`` smeared along a line of ``length`` pixels at ``degrees`` (0: horizontal)."""
    line = np.zeros((length, length), np.float32)
    line[length // 2, :] = 1.0
    turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), degrees, 1.0)
    kernel = cv2.warpAffine(line, turn, (length, length))
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REFLECT)


def defocused(image: np.ndarray, sigma: float) -> np.ndarray:
    """``image`` out of focus: a Gaussian blur of ``sigma`` pixels."""
    return cv2.GaussianBlur(image, (0, 0), sigma)


def low_light(image: np.ndarray, light: float, noise: float, seed: int = 0) -> np.ndarray:
    """``image`` with ``light`` times the light and Gaussian sensor noise of ``noise`` levels."""
    rng = np.random.default_rng(seed)
    return np.clip(image.astype(np.float64) * light + rng.normal(0.0, noise, image.shape), 0, 255).astype(
        np.uint8
    )


def sharpness(image: np.ndarray, where: np.ndarray) -> float:
    """The spread of the Laplacian of ``image``'s luma over ``where`` (HxW bool)."""
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    return float(cv2.Laplacian(luma, cv2.CV_64F)[where].std())


def grain(image: np.ndarray, where: np.ndarray) -> float:
    """The noise level of ``image``'s luma over ``where``: the median absolute residual against
    the four neighbours' mean, as a standard deviation of white noise."""
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float64)
    around = cv2.filter2D(luma, -1, np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]]))
    return float(np.median(np.abs(luma - around)[where]) * 1.4826 * 2 / 5**0.5)
