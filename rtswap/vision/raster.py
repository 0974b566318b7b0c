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
    """
    tri = triangles.to(torch.float32)
    lo = tri.amin(dim=1).ceil()
    extent = (tri.amax(dim=1).floor() - lo + 1).clamp(min=0)
    hits = [_rasterize_group(group, tri, lo, extent, height, width) for group in _groups(extent)]
    tri_ids, flat, weights = (torch.cat(parts) for parts in zip(*hits, strict=True))
    if depth is not None:  # nearest hits first, so the stable sort below keeps them
        near = torch.argsort((weights * depth.to(tri)[tri_ids]).sum(dim=1), stable=True)
        tri_ids, flat, weights = tri_ids[near], flat[near], weights[near]
    # A pixel on a shared edge (or under overlapping triangles) is hit several times: keep
    # exactly one hit per pixel, so a pixel's triangle and its weights come from the same hit.
    flat, order = torch.sort(flat, stable=True)
    first = torch.ones_like(flat, dtype=torch.bool)
    first[1:] = flat[1:] != flat[:-1]
    index = torch.full((height * width,), -1, dtype=torch.int64, device=tri.device)
    bary = torch.zeros((height * width, 3), dtype=torch.float32, device=tri.device)
    index[flat[first]] = tri_ids[order[first]]
    bary[flat[first]] = weights[order[first]]
    return index.view(height, width), bary.view(height, width, 3)


def _groups(extent: torch.Tensor) -> list[torch.Tensor]:
    """Triangle ids grouped by power-of-two box area (so padding wastes less than half of a
    group's work), groups cut further to stay within the candidate budget."""
    area = extent.amax(dim=1).clamp(min=1) ** 2
    bucket = torch.ceil(torch.log2(area)).to(torch.int64)
    groups = []
    for b in torch.unique(bucket).tolist():
        ids = (bucket == b).nonzero(as_tuple=True)[0]
        per_group = max(1, _GROUP_BUDGET >> b)
        groups.extend(ids.split(per_group))
    return groups


def _rasterize_group(
    group: torch.Tensor, tri: torch.Tensor, lo: torch.Tensor, extent: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hits of the triangles ``group``: (triangle ids, flat pixel indices, weights (N, 3))."""
    tri, lo, extent = tri[group], lo[group], extent[group]
    box_w, box_h = int(extent[:, 0].max().item()), int(extent[:, 1].max().item())
    dx = torch.arange(box_w, device=tri.device, dtype=torch.float32)
    dy = torch.arange(box_h, device=tri.device, dtype=torch.float32)
    px = (lo[:, 0, None, None] + dx[None, None, :]).expand(-1, box_h, -1)
    py = (lo[:, 1, None, None] + dy[None, :, None]).expand(-1, -1, box_w)
    weights = _barycentric(tri, px, py)
    inside = (weights >= -1e-5).all(dim=-1)
    inside &= (px >= 0) & (px < width) & (py >= 0) & (py < height)
    ids = inside.nonzero(as_tuple=True)[0]
    flat = (py[inside] * width + px[inside]).to(torch.int64)
    return group[ids], flat, weights[inside]


def _barycentric(tri: torch.Tensor, px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Weights (T, h, w, 3) of points (px, py) w.r.t. each triangle; NaN-free for degenerate ones."""
    x0, y0 = tri[:, 0, 0, None, None], tri[:, 0, 1, None, None]
    x1, y1 = tri[:, 1, 0, None, None], tri[:, 1, 1, None, None]
    x2, y2 = tri[:, 2, 0, None, None], tri[:, 2, 1, None, None]
    area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)
    degenerate = area.abs() < 1e-9
    area = torch.where(degenerate, torch.ones_like(area), area)
    w0 = ((x1 - px) * (y2 - py) - (x2 - px) * (y1 - py)) / area
    w1 = ((x2 - px) * (y0 - py) - (x0 - px) * (y2 - py)) / area
    w2 = 1.0 - w0 - w1
    weights = torch.stack([w0, w1, w2], dim=-1)
    return torch.where(degenerate[..., None], torch.full_like(weights, -1.0), weights)


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
