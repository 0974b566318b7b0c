import numpy as np
import pytest
import torch
from scipy.spatial import Delaunay

from rtswap.geometry import raster
from rtswap.geometry.raster import interpolate, rasterize


def test_vertices_map_exactly_and_hull_is_covered() -> None:
    rng = np.random.default_rng(0)
    points = rng.integers(5, 95, size=(40, 2)).astype(np.float32)
    points = np.unique(points, axis=0)
    triangles = torch.as_tensor(Delaunay(points).simplices)
    index, bary = rasterize(torch.as_tensor(points)[triangles], 100, 100)

    # every vertex pixel is covered and interpolates to exactly the vertex's own value
    values = torch.as_tensor(rng.normal(size=(len(points), 2)), dtype=torch.float32)
    field = interpolate(index, bary, values, triangles)
    for i in np.unique(triangles.numpy()):  # Qhull leaves collinear hull points out
        x, y = points[i].astype(int)
        assert index[y, x] >= 0
        torch.testing.assert_close(field[y, x], values[i], atol=1e-5, rtol=0)

    # coverage equals the convex hull (pixel centres inside it), nothing outside
    hull = Delaunay(points)
    ys, xs = np.mgrid[0:100, 0:100]
    inside = hull.find_simplex(np.stack([xs.ravel(), ys.ravel()], 1), tol=1e-9) >= 0
    covered = (index >= 0).numpy().ravel()
    assert covered[inside].all()
    assert not covered[~inside].any()


def test_identity_interpolation_reproduces_pixel_positions() -> None:
    points = np.array([[0, 0], [63, 0], [0, 63], [63, 63], [20, 40]], np.float32)
    triangles = torch.as_tensor(Delaunay(points).simplices)
    index, bary = rasterize(torch.as_tensor(points)[triangles], 64, 64)
    field = interpolate(index, bary, torch.as_tensor(points), triangles)
    ys, xs = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    torch.testing.assert_close(field, torch.stack([xs, ys], -1), atol=1e-4, rtol=0)


def test_degenerate_triangles_cover_nothing() -> None:
    tri = torch.tensor([[[10.0, 10.0], [20.0, 20.0], [30.0, 30.0]]])  # collinear
    index, _ = rasterize(tri, 40, 40)
    assert (index < 0).all()


def test_depth_keeps_the_nearest_of_overlapping_triangles() -> None:
    square = torch.tensor([[5.0, 5.0], [30.0, 5.0], [5.0, 30.0]])
    tri = torch.stack([square, square + 4])  # the second overlaps most of the first
    for near in (0, 1):
        depth = torch.tensor([[0.0] * 3, [1.0] * 3]) if near == 0 else torch.tensor([[1.0] * 3, [0.0] * 3])
        index, _ = rasterize(tri, 40, 40, depth)
        assert index[15, 15] == near  # a pixel both cover
        assert index[6, 6] == 0 and index[32, 10] == 1  # pixels only one covers


def test_a_batch_of_images_rasterises_as_each_image_alone() -> None:
    """Triangles that reach past an image's edge stay in their own image."""
    generator = torch.Generator().manual_seed(0)
    triangles = torch.rand(3, 20, 3, 2, generator=generator) * 60 - 10  # (B, T, 3, 2), some outside
    depth = torch.rand(3, 20, 3, generator=generator)
    index, bary = rasterize(triangles, 40, 48, depth)
    assert index.shape == (3, 40, 48) and bary.shape == (3, 40, 48, 3)
    for b in range(3):
        alone_index, alone_bary = rasterize(triangles[b], 40, 48, depth[b])
        assert (alone_index >= 0).any()
        assert torch.equal(index[b], alone_index)
        torch.testing.assert_close(bary[b], alone_bary)


def test_triangles_in_chunks_rasterise_as_all_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A triangle far larger than the image tests only the image's pixels, and a chunk budget
    smaller than one triangle's box changes nothing."""
    generator = torch.Generator().manual_seed(1)
    triangles = torch.rand(30, 3, 2, generator=generator) * 50
    huge = torch.tensor([[[-1e5, -1e5], [1e5, -1e5], [0.0, 1e5]]])  # covers the whole image
    depth = torch.rand(31, 3, generator=generator) + torch.tensor([[0.0]] * 30 + [[5.0]])  # huge is behind
    whole_index, whole_bary = rasterize(torch.cat([triangles, huge]), 40, 48, depth)
    assert (whole_index >= 0).all()
    monkeypatch.setattr(raster, "_CHUNK_BUDGET", 64)
    index, bary = rasterize(torch.cat([triangles, huge]), 40, 48, depth)
    assert torch.equal(index, whole_index)
    assert torch.equal(bary, whole_bary)
