"""Index sets over mediapipe's 478-point face mesh.

Everything here is derived once from the connection lists that mediapipe ships, so there is
no hand-copied table to get wrong. Indices are mediapipe's: 0..467 the surface mesh,
468..472 the image-left iris (the subject's right eye), 473..477 the image-right iris.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np
from mediapipe.python.solutions import face_mesh_connections as fmc

from rtswap.vision.landmarks import LEFT_EYE_OUTER, LEFT_IRIS, RIGHT_EYE_OUTER, RIGHT_IRIS, UPPER_LIP_INNER


def _edges(connections: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(min(a, b), max(a, b)) for a, b in connections}


def _loops(edges: set[tuple[int, int]]) -> list[list[int]]:
    """Split a set of undirected edges, each vertex of degree 2, into ordered closed loops."""
    neighbours: dict[int, list[int]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    loops, seen = [], set()
    for start in sorted(neighbours):
        if start in seen:
            continue
        loop, prev, cur = [start], -1, start
        seen.add(start)
        while True:
            nxt = next(n for n in neighbours[cur] if n != prev)
            if nxt == start:
                break
            loop.append(nxt)
            seen.add(nxt)
            prev, cur = cur, nxt
        loops.append(loop)
    return loops


def _surface_triangles() -> tuple[np.ndarray, list[list[int]]]:
    """Triangles of the tessellation (3-cliques of its edges) and the loops bounding its holes.

    A 3-clique all of whose edges are shared by three cliques is not a face of the mesh but a
    triangle enclosed by real faces; those are dropped.
    """
    edges = _edges(fmc.FACEMESH_TESSELATION)
    adjacent: dict[int, set[int]] = {}
    for a, b in edges:
        adjacent.setdefault(a, set()).add(b)
        adjacent.setdefault(b, set()).add(a)
    cliques = sorted({tuple(sorted((a, b, c))) for a, b in edges for c in adjacent[a] & adjacent[b]})
    uses = Counter(e for t in cliques for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))
    faces = [t for t in cliques if not all(uses[e] == 3 for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))]
    uses = Counter(e for t in faces for e in ((t[0], t[1]), (t[0], t[2]), (t[1], t[2])))
    boundary = {e for e, n in uses.items() if n == 1}
    return np.array(faces, dtype=np.int64), _loops(boundary)


def _loop_containing(loops: list[list[int]], index: int) -> list[int]:
    return next(loop for loop in loops if index in loop)


def _eye_fan(loops: list[list[int]], contour_vertex: int, iris_centre: int) -> np.ndarray:
    """Close an eye hole with a fan of triangles around the iris centre, so the warp carries
    the source's eye onto the target's and the iris follows the target's gaze."""
    loop = _loop_containing(loops, contour_vertex)
    return np.array([(iris_centre, loop[i], loop[(i + 1) % len(loop)]) for i in range(len(loop))])


_SURFACE, _HOLES = _surface_triangles()

FACE_OVAL: list[int] = _loops(_edges(fmc.FACEMESH_FACE_OVAL))[0]
"""Outer boundary of the mesh, ordered around the face."""

MOUTH_HOLE: list[int] = _loop_containing(_HOLES, UPPER_LIP_INNER)
"""Inner lip contour, ordered: the mesh leaves the mouth interior uncovered."""

LEFT_EYE_HOLE: list[int] = _loop_containing(_HOLES, LEFT_EYE_OUTER)
RIGHT_EYE_HOLE: list[int] = _loop_containing(_HOLES, RIGHT_EYE_OUTER)

TRIANGLES: np.ndarray = np.concatenate(
    [
        _SURFACE,
        _eye_fan(_HOLES, LEFT_EYE_OUTER, LEFT_IRIS),
        _eye_fan(_HOLES, RIGHT_EYE_OUTER, RIGHT_IRIS),
    ]
)
"""(T, 3) int64 vertex indices: the face surface with the eyes filled and the mouth open."""
