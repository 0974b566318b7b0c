"""Similarity alignment of faces to a fixed crop, and resampling between frame and crop.

Pixel convention everywhere: pixel (row i, column j) has its centre at x = j, y = i.
Affine matrices are 2x3 float64 in pixel units and map frame -> crop unless named otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from rtswap.device import upload
from rtswap.geometry.landmarks import five_points

# 5-point templates (left eye, right eye, nose tip, left mouth corner, right mouth corner).
FFHQ_512 = np.array(
    [[192.98, 239.95], [318.90, 240.19], [256.63, 314.02], [201.26, 371.41], [313.09, 371.15]]
)
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]
)
ARCFACE_112_V1 = np.array(
    [[39.7300, 51.1380], [72.2700, 51.1380], [56.0000, 68.4930], [42.4630, 87.0100], [69.5370, 87.0100]]
)
"""The older ArcFace template that SimSwap and GHOST were trained with (FaceFusion's ``arcface_112_v1``)."""


def ffhq_template(size: int) -> np.ndarray:
    """FFHQ-style template scaled to a ``size`` crop: whole face, forehead to chin, with margin."""
    return FFHQ_512 * (size / 512.0)


def arcface_template(size: int) -> np.ndarray:
    """insightface's ArcFace template for a ``size`` crop: scaled by size/112 when 112 divides it,
    else by size/128 and shifted right by 8·size/128 (the 128 crop is the 112 one, 8 px wider on
    each side)."""
    if size % 112 == 0:
        return ARCFACE_112 * (size / 112.0)
    if size % 128 == 0:
        return ARCFACE_112 * (size / 128.0) + np.array([8.0 * size / 128.0, 0.0])
    raise ValueError(f"ArcFace crops are multiples of 112 or 128 px, not {size}")


def named_template(name: str, size: int) -> np.ndarray:
    """A template by the name model cards use, for a crop of side ``size``: ``arcface_112``
    (insightface's), ``arcface_112_v1`` (SimSwap's, GHOST's), ``arcface_128`` (inswapper's: the
    112 one shifted 8 px right in a 128 crop) and ``ffhq_512``; each scales with the crop."""
    references = {
        "arcface_112": (ARCFACE_112, 112),
        "arcface_112_v1": (ARCFACE_112_V1, 112),
        "arcface_128": (ARCFACE_112 + np.array([8.0, 0.0]), 128),
        "ffhq_512": (FFHQ_512, 512),
    }
    if name not in references:
        raise ValueError(f"unknown template {name!r}; known: {', '.join(references)}")
    points, reference = references[name]
    return points * (size / reference)


@dataclass(frozen=True)
class Template:
    """Where an engine wants the five alignment points in its square crop."""

    points: np.ndarray
    """(5, 2) float pixel positions in a crop of side ``size``."""
    size: int

    def matrix(self, landmarks: np.ndarray) -> np.ndarray:
        """2x3 similarity taking a face with these (478, 2+) frame landmarks into the crop."""
        return estimate_similarity(five_points(landmarks), self.points)

    def scaled(self, size: int) -> Template:
        """The same template in a crop of side ``size`` (templates scale about the origin)."""
        return Template(self.points * (size / self.size), size)


def realign(crops: torch.Tensor, source: Template, target: Template) -> torch.Tensor:
    """Crops aligned to ``source`` -> the same faces aligned to ``target`` (B, C, S', S'), e.g.
    a swapper's crop to the 112 px crop its identity model embeds. Downscaling is antialiased
    (the crops are shrunk first, then resampled at about their own resolution)."""
    matrix = estimate_similarity(source.points, target.points)  # source crop -> target crop
    scale = scale_of(matrix)
    if scale < 1.0:
        crops = F.interpolate(crops, scale_factor=scale, mode="bilinear", antialias=True, align_corners=False)
        resized = crops.shape[-1] / source.size  # the exact factor after rounding
        offset = 0.5 / resized - 0.5  # shrunk-crop pixel x is (x + 0.5) / resized - 0.5 of the original
        matrix = compose(matrix, np.array([[1 / resized, 0.0, offset], [0.0, 1 / resized, offset]]))
    return warp_affine(crops, invert_affine(matrix), target.size, target.size)


def estimate_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) taking ``src`` to ``dst``.

    Umeyama's solution, which in 2D has a closed form without an SVD: with both point sets
    centred, the best rotation angle is atan2(sum of cross products, sum of dot products).
    src, dst: (N, 2) points. Returns a 2x3 matrix.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    dot = float((src_c * dst_c).sum())
    cross = float((src_c[:, 0] * dst_c[:, 1] - src_c[:, 1] * dst_c[:, 0]).sum())
    scale_cos, scale_sin = np.array([dot, cross]) / (src_c**2).sum()
    matrix = np.empty((2, 3))
    matrix[:, :2] = [[scale_cos, -scale_sin], [scale_sin, scale_cos]]
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """The inverse of a 2x3 affine matrix, in closed form (``np.linalg.inv`` goes through LAPACK,
    whose thread pool holds up the other stage threads far longer than the arithmetic takes)."""
    (a, b, tx), (c, d, ty) = matrix
    det = a * d - b * c
    linear = np.array([[d, -b], [-c, a]]) / det
    return np.hstack([linear, -linear @ np.array([[tx], [ty]])])


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine that applies ``inner``, then ``outer``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], (outer[:, :2] @ inner[:, 2] + outer[:, 2])[:, None]])


def scale_of(matrix: np.ndarray) -> float:
    """How much a 2x3 similarity scales: its output's pixels per input pixel (for a frame -> crop
    matrix, how many times the crop magnifies the face)."""
    return float(np.hypot(*matrix[0, :2]))


def apply_affine(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a 2x3 affine matrix."""
    return np.asarray(points)[:, :2] @ matrix[:, :2].T + matrix[:, 2]


def depth_in_crop(matrix: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(N,) the depth (mediapipe's z) of (N, 3) landmarks in the pixels of the crop that
    ``matrix``, a similarity, maps them into: depth scales as x and y do."""
    return np.asarray(landmarks)[:, 2] * scale_of(matrix)


def pixel_grid(height: int, width: int, device: torch.device, x0: int = 0, y0: int = 0) -> torch.Tensor:
    """(H, W, 2) float32 pixel-centre coordinates (x, y), offset by (x0, y0)."""
    ys = torch.arange(height, device=device, dtype=torch.float32) + y0
    xs = torch.arange(width, device=device, dtype=torch.float32) + x0
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([gx, gy], dim=-1)


def to_sampling_grid(coords: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel coordinates (..., 2) in an HxW image -> grid_sample's [-1, 1] (align_corners=False)."""
    x, y = coords.unbind(dim=-1)
    return torch.stack([(x + 0.5) * (2.0 / width), (y + 0.5) * (2.0 / height)], dim=-1) - 1.0


def sample(image: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Bilinear lookup of image (B, C, H, W) float at pixel coordinates (B, h, w, 2); zeros outside."""
    grid = to_sampling_grid(coords, image.shape[-2], image.shape[-1])
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def warp_affine(
    image: torch.Tensor, matrix: np.ndarray, height: int, width: int, mode: str = "bilinear"
) -> torch.Tensor:
    """Resample ``image`` (B, C, H, W) float into (B, C, height, width): output pixel (x, y) takes
    the lookup (``mode``: "bilinear" or "bicubic") at ``matrix @ (x, y, 1)``, a 2x3 affine in
    pixels; zeros outside.
    ``matrix`` (2, 3) applies to every image; (N, 2, 3) gives N outputs, of one image (B = 1, not
    copied) or of one image each (B = N).

    The pixel transform is folded into grid_sample's normalised coordinates, so the grid comes
    from one ``affine_grid`` call instead of per-pixel tensor arithmetic."""
    in_h, in_w = image.shape[-2:]
    to_input = np.array([[2 / in_w, 0.0, 1 / in_w - 1], [0.0, 2 / in_h, 1 / in_h - 1]])
    from_output = np.array([[width / 2, 0.0, width / 2 - 0.5], [0.0, height / 2, height / 2 - 0.5]])
    matrices = np.asarray(matrix).reshape(-1, 2, 3)
    theta = upload(np.stack([compose(to_input, compose(m, from_output)) for m in matrices]), image.device)
    batch = max(len(image), len(theta))
    grid = F.affine_grid(
        theta.expand(batch, -1, -1), [batch, image.shape[1], height, width], align_corners=False
    )
    return F.grid_sample(
        image.expand(batch, -1, -1, -1), grid, mode=mode, padding_mode="zeros", align_corners=False
    )
