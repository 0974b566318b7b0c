"""Triangle rasteriser in PyTorch: for every pixel, which triangle covers it and where.

Vectorised over triangles: each triangle tests exactly the pixels of its own bounding box, all
triangles' pixels in one flat list, so the work is the covered area (not triangles x image) and
the number of tensor operations does not grow with the mesh (a few dozen a call: each is a
round trip through the interpreter, which threads share). Runs unchanged on CPU or CUDA.
"""

from __future__ import annotations

import numpy as np
import torch

from rtswap.device import upload

_CHUNK_BUDGET = 1 << 21
"""Candidate pixels tested at once: bounds memory when triangles are large (a broken mesh's
triangle may span the image); a face's mesh at the crop sizes used fits in one chunk."""


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

    One read of the triangles' box areas (how many candidates each has); the rest is tensor work
    whose sizes the host then knows: on CUDA the host waits for the device once per call."""
    tri = triangles.to(torch.float32)
    lo = tri.amin(dim=1).ceil()
    planes = _barycentric_planes(tri - lo[:, None])
    boxes, corners, areas = _boxes(tri, lo, planes, count, height, width)
    depth = None if depth is None else depth.to(tri)
    pixels = batch * height * width
    hits = [_hits(ids, boxes, corners, depth, width, pixels) for ids in _chunks(areas, tri.device)]
    # A pixel on a shared edge (or under overlapping triangles) is hit several times: exactly one
    # triangle wins it, the nearest with depth, else (and among equally near) the highest-numbered
    # one. Hits outside the triangles all land in one extra slot, at ``pixels``.
    winner = torch.full((pixels + 1,), -1, dtype=torch.int64, device=tri.device)
    if depth is None:
        for ids, flat, _ in hits:
            winner.scatter_reduce_(0, flat, ids, "amax")
    else:
        nearest = tri.new_full((pixels + 1,), torch.inf)
        nears = [near for _, _, near in hits if near is not None]
        for (_, flat, _), near in zip(hits, nears, strict=True):
            nearest.scatter_reduce_(0, flat, near, "amin")
        for (ids, flat, _), near in zip(hits, nears, strict=True):
            winner.scatter_reduce_(0, flat, torch.where(near == nearest[flat], ids, -1), "amax")
    index = winner[:pixels].view(batch, height, width)
    return index, _weights_at(planes, lo, index) * (index >= 0)[..., None]


def _boxes(
    tri: torch.Tensor, lo: torch.Tensor, planes: torch.Tensor, count: int, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each triangle's box of pixels, cut to its image. Returns, per triangle, its weights' planes
    from the box's corner (9), the box's width and its reciprocal (a product is exact enough to
    find a candidate's row, and much cheaper than a division): (T, 11); the corner's flat index
    into the images one after another; and the box's area (its candidates)."""
    start, hi = lo.clamp(min=0), tri.amax(dim=1).floor()
    stop = torch.stack([hi[:, 0].clamp(max=width - 1), hi[:, 1].clamp(max=height - 1)], dim=1)
    extent = (stop - start + 1).clamp(min=0)
    from_corner = planes.clone()
    shift = start - lo
    from_corner[:, 2] = _weights(planes, shift[:, :1], shift[:, 1:])
    box_width = extent[:, :1]
    boxes = torch.cat([from_corner.flatten(1), box_width, 1 / box_width.clamp(min=1)], dim=1)
    image = torch.arange(len(tri), device=tri.device) // count
    corners = (image * height + start[:, 1].to(torch.int64)) * width + start[:, 0].to(torch.int64)
    return boxes, corners, extent.prod(dim=1).to(torch.int64)


def _chunks(areas: torch.Tensor, device: torch.device) -> list[torch.Tensor]:
    """For each chunk of triangles (in order, at most :data:`_CHUNK_BUDGET` candidate pixels in
    all unless one triangle alone has more), the triangle of each of its candidates, on
    ``device``. Reads the triangles' areas to the host."""
    area = areas.cpu().numpy()
    ends = np.cumsum(area)
    chunks, start, done = [], 0, 0
    while start < len(area):
        stop = max(start + 1, int(np.searchsorted(ends, done + _CHUNK_BUDGET, side="right")))
        ids = torch.arange(start, stop, device=device)
        counts = upload(area[start:stop], device, torch.int64)
        chunks.append(torch.repeat_interleave(ids, counts, output_size=int(ends[stop - 1] - done)))
        start, done = stop, int(ends[stop - 1])
    return chunks


def _hits(
    ids: torch.Tensor,
    boxes: torch.Tensor,
    corners: torch.Tensor,
    depth: torch.Tensor | None,
    width: int,
    outside: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Candidates ``ids`` (N,): the pixels of triangle ``ids[n]``'s box (see :func:`_boxes`), a
    triangle's together, row by row. Returns the ids; each candidate's flat index into the images,
    or ``outside`` where its triangle does not cover it; and with ``depth``, the depth there."""
    first = torch.ones_like(ids, dtype=torch.bool)
    first[1:] = ids[1:] != ids[:-1]
    position = torch.arange(len(ids), device=ids.device)
    local = (position - torch.cummax(torch.where(first, position, 0), dim=0).values).to(torch.float32)
    box = boxes.index_select(0, ids)
    dy = ((local + 0.5) * box[:, 10]).floor()
    dx = local - dy * box[:, 9]
    weights = _weights(box[:, :9].unflatten(1, (3, 3)), dx[:, None], dy[:, None])
    flat = corners.index_select(0, ids) + (dy * width + dx).to(torch.int64)
    flat = torch.where(weights.amin(dim=-1) >= -1e-5, flat, outside)
    near = None if depth is None else (weights * depth.index_select(0, ids)).sum(dim=-1)
    return ids, flat, near


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
