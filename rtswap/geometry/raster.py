"""Triangle rasteriser in PyTorch: for every pixel, which triangle covers it and where.

Vectorised over triangles: each triangle tests the pixels of its own bounding box. Triangles are
processed in groups of similar size, so a group's padded box stays close to its members' boxes and
the work is about the covered area, not triangles x image. Runs unchanged on CPU or CUDA.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

_GROUP_BUDGET = 1 << 21
"""Candidate pixels tested per group: bounds memory when a few triangles are large."""


def rasterize(
    triangles: torch.Tensor, height: int, width: int, depth: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rasterise triangles given in pixel coordinates.

    triangles: (T, 3, 2) float (x, y) vertex positions; pixel centres are at integer coordinates.
    depth: optional (T, 3) per-vertex depth: where triangles overlap, the nearest (smallest
    interpolated depth) covers the pixel, as a z-buffer would; without it, any one of them.
    Returns ``index`` (H, W) int64, the covering triangle or -1, and ``bary`` (H, W, 3) float32
    barycentric weights of that triangle's vertices (zero where uncovered). Pixels on a shared
    edge go to one of the triangles; the interpolated value is the same either way.

    With a leading batch dimension, (B, T, 3, 2) triangles (and (B, T, 3) depth), B images are
    rasterised in one pass: (B, H, W) and (B, H, W, 3), each image's index into its own T.
    """
    if triangles.dim() == 4:
        batch, count = triangles.shape[:2]
        flat_depth = None if depth is None else depth.reshape(batch * count, 3)
        index, bary = _rasterize(
            triangles.reshape(batch * count, 3, 2), count, batch, height, width, flat_depth
        )
        return (index % count).where(index >= 0, -1), bary
    index, bary = _rasterize(triangles, len(triangles), 1, height, width, depth)
    return index[0], bary[0]


def _rasterize(
    triangles: torch.Tensor, count: int, batch: int, height: int, width: int, depth: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`rasterize` of ``batch`` images' triangles, ``count`` each, one image after another
    in ``triangles``: (batch, H, W) indices into all of them, and weights.

    Fixed-shape tensor work after one read of the triangles' box sizes (the groups' shapes): on
    CUDA the host waits for the device once per call, not once per group or list of pixels."""
    tri = triangles.to(torch.float32)
    lo = tri.amin(dim=1).ceil()
    extent = (tri.amax(dim=1).floor() - lo + 1).clamp(min=0)
    planes = _barycentric_planes(tri - lo[:, None])
    depth = None if depth is None else depth.to(tri)
    pixels = batch * height * width
    hits = [
        _group_hits(group, box, planes, lo, depth, height, width, count) for group, box in _groups(extent)
    ]
    # A pixel on a shared edge (or under overlapping triangles) is hit several times: exactly one
    # triangle wins it, the nearest with depth, else (and among equally near) the highest-numbered
    # one. Hits outside the images all land in one extra slot, at ``pixels``.
    winner = torch.full((pixels + 1,), -1, dtype=torch.int64, device=tri.device)
    if depth is None:
        for ids, flat, _ in hits:
            winner.scatter_reduce_(0, flat.flatten(), ids.expand_as(flat).flatten(), "amax")
    else:
        nears = [near for _, _, near in hits if near is not None]
        nearest = tri.new_full((pixels + 1,), torch.inf)
        for (_, flat, _), near in zip(hits, nears, strict=True):
            nearest.scatter_reduce_(0, flat.flatten(), near.flatten(), "amin")
        for (ids, flat, _), near in zip(hits, nears, strict=True):
            candidate = torch.where(near == nearest[flat], ids, -1)
            winner.scatter_reduce_(0, flat.flatten(), candidate.flatten(), "amax")
    index = winner[:pixels].view(batch, height, width)
    return index, _weights_at(planes, lo, index) * (index >= 0)[..., None]


def _groups(extent: torch.Tensor) -> list[tuple[torch.Tensor, tuple[int, int]]]:
    """Triangle ids grouped by power-of-two box area (so padding wastes less than half of a
    group's work), groups cut further to stay within the candidate budget, each with the
    (width, height) of a box that holds any member's. Reads the box sizes to the host."""
    area = extent.amax(dim=1).clamp(min=1) ** 2
    bucket = torch.ceil(torch.log2(area)).to(torch.int64)
    order = torch.argsort(bucket, stable=True)
    host = torch.cat([bucket[:, None], extent.to(torch.int64)], dim=1).cpu().numpy()
    host_order = np.argsort(host[:, 0], kind="stable")  # the same order as ``order``
    groups = []
    for start, stop in _runs(host[host_order, 0]):
        step = max(1, _GROUP_BUDGET >> int(host[host_order[start], 0]))
        for at in range(start, stop, step):
            members = host[host_order[at : min(at + step, stop)]]
            groups.append(
                (order[at : at + len(members)], (int(members[:, 1].max()), int(members[:, 2].max())))
            )
    return groups


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal values in ``values``."""
    edges = [0, *(np.flatnonzero(np.diff(values)) + 1).tolist(), len(values)]
    return list(itertools.pairwise(edges))


def _group_hits(
    group: torch.Tensor,
    box: tuple[int, int],
    planes: torch.Tensor,
    lo: torch.Tensor,
    depth: torch.Tensor | None,
    height: int,
    width: int,
    count: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The triangles ``group`` (of images of ``count`` triangles each), each tested at the pixels
    of a (width, height) ``box`` from its own box's corner. Returns their ids (T, 1, 1); for each
    (T, h, w) candidate pixel, its flat index into the images one after another, or the extra slot
    past them where the triangle does not cover it; and with ``depth``, the depth there."""
    dx = torch.arange(box[0], device=planes.device, dtype=torch.float32)
    dy = torch.arange(box[1], device=planes.device, dtype=torch.float32)
    weights = _weights(planes[group, None, None], dx[None, None, :, None], dy[None, :, None, None])
    px, py = lo[group, 0, None] + dx, lo[group, 1, None] + dy  # (T, w), (T, h)
    inside = weights.amin(dim=-1) >= -1e-5
    inside &= ((px >= 0) & (px < width))[:, None, :] & ((py >= 0) & (py < height))[:, :, None]
    image = (group // count)[:, None, None]
    flat = image * (height * width) + (py[:, :, None] * width + px[:, None, :]).to(torch.int64)
    flat = torch.where(inside, flat, (len(planes) // count) * height * width)
    near = None if depth is None else (weights * depth[group, None, None]).sum(dim=-1)
    return group[:, None, None], flat, near


def _weights(planes: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Barycentric weights (..., 3) at box coordinates ``x``, ``y`` of triangles' ``planes``
    (..., 3, 3), broadcast: the one formula for testing pixels and for the winners' weights."""
    return torch.addcmul(torch.addcmul(planes[..., 2, :], x, planes[..., 0, :]), y, planes[..., 1, :])


def _weights_at(planes: torch.Tensor, lo: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3): the weights of triangle ``index`` (B, H, W; into all images' triangles, -1
    for none) at each pixel."""
    height, width = index.shape[1:]
    which = index.clamp(min=0).flatten()
    corner = lo.index_select(0, which).view(*index.shape, 2)
    xs = torch.arange(width, device=index.device, dtype=torch.float32)[None, None, :, None]
    ys = torch.arange(height, device=index.device, dtype=torch.float32)[None, :, None, None]
    chosen = planes.flatten(1).index_select(0, which).view(*index.shape, 3, 3)
    return _weights(chosen, xs - corner[..., :1], ys - corner[..., 1:])


def _barycentric_planes(tri: torch.Tensor) -> torch.Tensor:
    """(T, 3, 3): barycentric weight k of point (x, y) w.r.t. triangle t is
    ``planes[t, 0, k] * x + planes[t, 1, k] * y + planes[t, 2, k]``. ``tri`` is in each triangle's
    own box coordinates (small numbers, so the expanded form loses no precision). A degenerate
    triangle gets weights of -1 everywhere: it covers nothing."""
    x, y = tri[..., 0], tri[..., 1]  # (T, 3) each
    x1, x2, y1, y2 = x.roll(-1, 1), x.roll(-2, 1), y.roll(-1, 1), y.roll(-2, 1)  # the other two corners
    planes = torch.stack([y1 - y2, x2 - x1, x1 * y2 - x2 * y1], dim=1)  # twice the sub-areas, (T, 3, 3)
    area = planes[:, 2].sum(dim=1)
    degenerate = area.abs() < 1e-9
    planes = planes / torch.where(degenerate, torch.ones_like(area), area)[:, None, None]
    planes = planes.masked_fill(degenerate[:, None, None], 0.0)
    planes[:, 2] -= degenerate[:, None].to(planes.dtype)  # (fixed-shape: no mask read back)
    return planes


def interpolate(
    index: torch.Tensor, bary: torch.Tensor, values: torch.Tensor, triangles: torch.Tensor
) -> torch.Tensor:
    """Per-pixel barycentric interpolation of per-vertex values.

    index, bary: from :func:`rasterize`; values: (V, C) per vertex; triangles: (T, 3) vertex ids.
    Returns (H, W, C); uncovered pixels get 0.
    """
    covered = index >= 0
    corner_values = values[triangles[index.clamp(min=0)]]  # (H, W, 3, C)
    out = (bary[..., None] * corner_values).sum(dim=-2)
    return out * covered[..., None]
