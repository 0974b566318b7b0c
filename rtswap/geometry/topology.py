"""Index sets over mediapipe's 478-point face mesh.

Everything here is derived once from the connection lists that mediapipe ships, so there is
no hand-copied table to get wrong. Indices are mediapipe's: 0..467 the surface mesh,
468..472 the image-left iris (the subject's right eye), 473..477 the image-right iris.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable

import numpy as np

from rtswap.geometry.landmarks import (
    LEFT_EYE_OUTER,
    LEFT_IRIS,
    MIDLINE,
    NUM_LANDMARKS,
    RIGHT_EYE_OUTER,
    RIGHT_IRIS,
    UPPER_LIP_INNER,
)
from rtswap.geometry.mediapipe_files import face_mesh_connections

fmc = face_mesh_connections()


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


def _oriented(triangles: np.ndarray) -> np.ndarray:
    """The triangles with their corners reordered so that every edge shared by two of them is
    traversed in opposite directions: one winding over the whole surface, so the sign of a
    triangle's normal tells which way it faces."""
    tris = [list(t) for t in triangles]
    by_edge: dict[frozenset[int], list[int]] = {}
    for i, t in enumerate(tris):
        for k in range(3):
            by_edge.setdefault(frozenset((t[k], t[k - 2])), []).append(i)
    done = [False] * len(tris)
    for seed in range(len(tris)):
        if done[seed]:
            continue
        done[seed], queue = True, deque([seed])
        while queue:
            t = tris[queue.popleft()]
            for k in range(3):
                a, b = t[k], t[k - 2]  # the directed edge a -> b of t
                for j in by_edge[frozenset((a, b))]:
                    if not done[j]:
                        u = tris[j]
                        if any(u[m] == a and u[m - 2] == b for m in range(3)):  # same direction
                            tris[j] = [u[0], u[2], u[1]]
                        done[j] = True
                        queue.append(j)
    return np.array(tris, dtype=np.int64)


def _mirror(triangles: np.ndarray) -> np.ndarray:
    """(478, 478) see :data:`MIRROR`. The mesh's left-right symmetry: the midline maps to
    itself, and walking around a vertex one way walks around its mirror the other way. The
    tessellation is not exactly symmetric beside the nostrils and the eye corners: a vertex whose
    triangles do not all map onto triangles takes the mean of its neighbours' mirrors, from the
    symmetric part inwards.
    Vertices outside the triangles (the iris rings) map to themselves."""
    after: dict[int, dict[int, int]] = {}  # after[v][a] = b: triangle (v, a, b), in winding order
    before: dict[int, dict[int, int]] = {}
    for t in triangles.tolist():
        for k in range(3):
            v, a, b = t[k], t[k - 2], t[k - 1]
            after.setdefault(v, {})[a] = b
            before.setdefault(v, {})[b] = a
    mirror = {v: v for v in MIDLINE}
    queue = deque(MIDLINE)
    while queue:
        v = queue.popleft()
        w = mirror[v]
        for a in [a for a in after[v] if a in mirror]:
            x, y = a, mirror[a]
            for _ in range(len(after[v])):
                if x not in after[v] or y not in before[w]:
                    break
                x, y = after[v][x], before[w][y]
                if x not in mirror:
                    mirror[x] = y
                    queue.append(x)
    shapes = {frozenset(t) for t in triangles.tolist()}

    def symmetric(v: int) -> bool:
        around = [t for t in shapes if v in t]
        return mirror.get(mirror[v]) == v and all(
            frozenset(mirror.get(c, -1) for c in t) in shapes for t in around
        )

    table = np.eye(NUM_LANDMARKS, dtype=np.float32)
    done = {v for v, w in mirror.items() if symmetric(v) and symmetric(w)}
    table[sorted(done)] = table[[mirror[v] for v in sorted(done)]]
    pending = set(mirror) - done
    while pending:
        ready = {v: [n for n in after[v] if n in done] for v in pending}
        ready = {v: around for v, around in ready.items() if around}
        for v, around in ready.items():
            table[v] = table[around].mean(axis=0)
        done |= set(ready)
        pending -= set(ready)
    return table


TRIANGLES: np.ndarray = _oriented(
    np.concatenate(
        [
            _SURFACE,
            _eye_fan(_HOLES, LEFT_EYE_OUTER, LEFT_IRIS),
            _eye_fan(_HOLES, RIGHT_EYE_OUTER, RIGHT_IRIS),
        ]
    )
)
"""(T, 3) int64 vertex indices: the face surface with the eyes filled and the mouth open, wound
one way: on a face seen from the front, ``(b - a) x (c - a)`` of corners a, b, c points away from
the camera in image coordinates (x right, y down, z into the screen) for nearly all of them."""

MIRROR: np.ndarray = _mirror(TRIANGLES)
"""(478, 478) float32: ``MIRROR @ values`` takes per-vertex values (positions, weights) to
those of each vertex's mirror image across the face's midline."""


def _neighbours() -> dict[int, set[int]]:
    found: dict[int, set[int]] = {}
    for t in TRIANGLES.tolist():
        for k in range(3):
            found.setdefault(t[k], set()).update((t[k - 1], t[k - 2]))
    return found


_NEIGHBOURS = _neighbours()
"""Each vertex's neighbours along the edges of :data:`TRIANGLES`."""


def around(loop: list[int], rings: int) -> list[int]:
    """The vertices of ``loop`` and those within ``rings`` edges of it on :data:`TRIANGLES`."""
    near = set(loop)
    for _ in range(rings):
        near |= {n for v in near for n in _NEIGHBOURS[v]}
    return sorted(near)
