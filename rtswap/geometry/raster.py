"""Triangle rasteriser in PyTorch: for every pixel, which triangle covers it and where.

Vectorised over triangles: each triangle tests the pixels of its own bounding box. Triangles are
processed in groups of similar size, so a group's padded box stays close to its members' boxes and
the work is about the covered area, not triangles x image. Runs unchanged on CPU or CUDA.
"""

from __future__ import annotations

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
    in ``triangles``: (batch, H, W) indices into all of them, and weights."""
    tri = triangles.to(torch.float32)
    lo = tri.amin(dim=1).ceil()
    extent = (tri.amax(dim=1).floor() - lo + 1).clamp(min=0)
    planes = _barycentric_planes(tri - lo[:, None])
    hits = [_rasterize_group(group, planes, lo, extent, count, height, width) for group in _groups(extent)]
    tri_ids, flat, weights = (torch.cat(parts) for parts in zip(*hits, strict=True))
    # A pixel on a shared edge (or under overlapping triangles) is hit several times: exactly one
    # hit wins, so its triangle and weights agree: the nearest with depth, else (and among equally
    # near) the highest-numbered triangle, whatever order the groups found them in. The hits are
    # put in that order, the winner last.
    order = torch.argsort(tri_ids, stable=True)
    if depth is not None:
        nearness = (weights * depth.to(tri)[tri_ids]).sum(dim=1)[order]
        order = order[torch.argsort(nearness, descending=True, stable=True)]
    tri_ids, flat, weights = tri_ids[order], flat[order], weights[order]
    pixels = batch * height * width
    hit = torch.full((pixels,), -1, dtype=torch.int64, device=tri.device)
    hit.scatter_reduce_(0, flat, torch.arange(len(flat), device=tri.device), "amax")
    covered = (hit >= 0).nonzero(as_tuple=True)[0]
    index = torch.full((pixels,), -1, dtype=torch.int64, device=tri.device)
    bary = torch.zeros((pixels, 3), dtype=torch.float32, device=tri.device)
    index[covered] = tri_ids[hit[covered]]
    bary[covered] = weights[hit[covered]]
    return index.view(batch, height, width), bary.view(batch, height, width, 3)


def _groups(extent: torch.Tensor) -> list[torch.Tensor]:
    """Triangle ids grouped by power-of-two box area (so padding wastes less than half of a
    group's work), groups cut further to stay within the candidate budget."""
    area = extent.amax(dim=1).clamp(min=1) ** 2
    bucket = torch.ceil(torch.log2(area)).to(torch.int64)
    order = torch.argsort(bucket)
    buckets, counts = torch.unique_consecutive(bucket[order], return_counts=True)
    groups = []
    for b, ids in zip(buckets.tolist(), order.split(counts.tolist()), strict=True):
        groups.extend(ids.split(max(1, _GROUP_BUDGET >> b)))
    return groups


def _rasterize_group(
    group: torch.Tensor,
    planes: torch.Tensor,
    lo: torch.Tensor,
    extent: torch.Tensor,
    count: int,
    height: int,
    width: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hits of the triangles ``group`` (of images of ``count`` triangles each): (triangle ids,
    flat pixel indices into the images one after another, weights (N, 3))."""
    planes, lo, extent = planes[group], lo[group], extent[group]
    box_w, box_h = int(extent[:, 0].max().item()), int(extent[:, 1].max().item())
    dx = torch.arange(box_w, device=planes.device, dtype=torch.float32)
    dy = torch.arange(box_h, device=planes.device, dtype=torch.float32)
    weights = torch.addcmul(
        torch.addcmul(planes[:, None, None, 2], dx[None, None, :, None], planes[:, None, None, 0]),
        dy[None, :, None, None],
        planes[:, None, None, 1],
    )  # (T, h, w, 3)
    px, py = lo[:, 0, None] + dx, lo[:, 1, None] + dy  # (T, w), (T, h)
    inside = weights.amin(dim=-1) >= -1e-5
    inside &= ((px >= 0) & (px < width))[:, None, :] & ((py >= 0) & (py < height))[:, :, None]
    t, y, x = inside.nonzero(as_tuple=True)
    ids = group[t]
    flat = (ids // count) * (height * width) + (py[t, y] * width + px[t, x]).to(torch.int64)
    return ids, flat, weights[t, y, x]


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
    planes[degenerate] = torch.tensor([[0.0] * 3, [0.0] * 3, [-1.0] * 3], device=tri.device)
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
