"""Glasses' rims, found by their shape: a thin line darker than the skin beside it, round each eye.

The skin model (:mod:`rtswap.blend.occluders.skin`) finds a frame by its colour, which misses rims of a
skin-like tint (clear or tortoiseshell plastic): a source's were pasted onto every target, a
target's painted over. A rim has a shape, though: round each eye, an oval that holds the eye,
lower rims on the cheekbones, a bridge over the nose. So the thin-dark-line response (a
morphological black-hat, relative to the skin beside it) is searched over ovals round each eye, one
shape for both, mirrored (glasses are symmetric; wrinkles and folds are not). Where both ovals are
dark along most of their lower arcs, the rim itself is traced round each (the darkest loop near
the oval) and widened to where it is dark, with the bridge over the nose.

On a source, once per view when it is prepared; on a target, every few dozen frames of a track
(a look's cost: docs/speed.md). How it fails: a rimless pair, rims
paler than the skin, and the top rim of clear frames (over the lids and brows; a dark frame's is
traced: :data:`_DARK_FRAME`) are missed; on a wrinkled face without glasses, wrinkles that ring
both eyes would be taken for rims.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np
import torch

from rtswap.geometry.landmarks import LEFT_IRIS, NOSE_TIP, RIGHT_IRIS
from rtswap.geometry.mediapipe_files import face_mesh_connections
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE

fmc = face_mesh_connections()

_EYES = ((LEFT_EYE_HOLE, LEFT_IRIS), (RIGHT_EYE_HOLE, RIGHT_IRIS))
_MIDLINE_BETWEEN_EYES = 168
_BROWS = sorted({i for edge in (*fmc.FACEMESH_LEFT_EYEBROW, *fmc.FACEMESH_RIGHT_EYEBROW) for i in edge})
_MIN_DARKNESS = 0.035
"""Along 70% of an oval's lower arc, the rim must be this much darker than the skin beside it
(relative), on both eyes. Clear faces give 0.005-0.023 (the astronaut, her darker-skinned variant,
demo frames 0-119), Grace Hopper's clear rims 0.11-0.14, drawn clear frames 0.065-0.086 (128-256
px crops; on the darker face, 0.011-0.026: not found)."""
_DARK_FRAME = 0.3
"""Rims this dark along their lower arcs (drawn dark frames 0.44-0.74) are a dark frame's, whose
top arc, over the lids and brows, is traced too. The skin model finds such a bar by its colour,
but in the brows only what is near-black, and against a darker skin a brown frame is not: the
darker astronaut's drawn frames lost their top arcs (painted over on a target, pasted as a second
pair of brows from a source). A clear frame's top rim (Grace Hopper's 0.13-0.22, tinted ones
0.07-0.15) is not: as dark as a clear rim is a brow or a lid, and on Grace Hopper's face the
widened trace took in her brows beside her frames' top bar."""
_LOWER_ARC = np.radians(np.linspace(10.0, 170.0, 33))
"""Angles of an oval's lower arc (image y points down): the upper arc lies in the brows and,
on most frames, in the bar the skin model finds anyway."""
_SHAPES = np.stack(
    np.meshgrid(
        np.linspace(-0.2, 0.2, 5),  # the centre's offset from the iris, outwards...
        np.linspace(-0.1, 0.6, 8),  # ...and down
        np.linspace(0.7, 1.4, 8),  # half-width
        np.linspace(0.5, 1.2, 8),  # half-height
        np.array([2.0, 3.5]),  # exponent: 2 an ellipse, more a rounded rectangle
        indexing="ij",
    ),
    axis=-1,
).reshape(-1, 5)
"""The ovals tried round each eye, (N, 5), lengths in eye widths: 5120 of them."""
_TRACE_ANGLES = 96
"""Points round each oval at which the rim is traced."""
_HOLDS_EYE = 0.6
"""Every eye contour point lies within this (squared, normalised) radius of an oval that holds
the eye: a rim runs round the eye, not along the lids."""


class Oval(NamedTuple):
    """A superellipse, ``|x/a|^n + |y/b|^n = 1`` about (cx, cy), round one eye."""

    darkness: float
    """The darkness (:func:`_darker_than_beside`) that 70% of its lower arc reaches."""
    cx: float
    cy: float
    a: float
    b: float
    n: float
    eye_width: float

    def points(self, angles: np.ndarray) -> np.ndarray:
        """(N, 2) points at ``angles`` (radians, image y down)."""
        return _points(np.array([self.cx, self.cy, self.a, self.b, self.n]), angles)


def rim_maps(
    crops: torch.Tensor, landmarks: torch.Tensor, widen: int = 0, *, source: bool = False
) -> torch.Tensor:
    """:func:`rims` of a batch of aligned crops ((B, 3, S, S) RGB [0, 1] on any device; (B, 478, 2)
    landmarks in crop pixels), as (B, 1, S, S) float on the crops' device, dilated by ``widen``
    pixels (room for the head to move before the next look). ``source``: the crops are of a
    source (:func:`rims`)."""
    pixels = (crops * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    points = landmarks.cpu().numpy()
    found = np.stack(
        [rims(image, marks, source=source) for image, marks in zip(pixels, points, strict=True)]
    ).astype(np.uint8)
    if widen:
        found = np.stack([cv2.dilate(mask, _disk(2 * widen)) for mask in found])
    return torch.from_numpy(found).to(crops.device, crops.dtype)[:, None]


def rims(crop: np.ndarray, landmarks: np.ndarray, *, source: bool = False) -> np.ndarray:
    """(S, S) bool: the glasses' rims and bridge in an aligned face crop ((S, S, 3) uint8 RGB, its
    (478, 2+) landmarks in crop pixels); all False when no glasses are found. On a ``source``, a
    dark frame is left out whole (:func:`_loops`)."""
    size = crop.shape[0]
    corners = [np.round(landmarks[contour, :2]).astype(np.int32) for contour, _ in _EYES]
    openings = [cv2.fillPoly(np.zeros((size, size), np.uint8), [eye], (1,)) for eye in corners]
    luma = _eyes_as_skin(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255, openings, size)
    dark = _darker_than_beside(luma, size / 20)
    smooth = cv2.GaussianBlur(dark, (0, 0), size / 170)  # a rim between two ovals tried counts for both
    lenses = _lenses(smooth, landmarks[:, :2])
    if lenses is None or min(lens.darkness for lens in lenses) < _MIN_DARKNESS:
        return np.zeros((size, size), bool)
    left, right = lenses
    darkness = min(left.darkness, right.darkness)
    traced = np.zeros((size, size), np.uint8)
    for lens in lenses:
        for run in _traced(smooth, lens, 0.4 * darkness):
            cv2.polylines(traced, [np.round(run).astype(np.int32)], False, (1,), max(2, round(size / 64)))
    # a wide rim's full width (the trace may run along one of its edges), and the bridge (between
    # the ovals, above their centres): where it is dark
    near = cv2.dilate(traced, _disk(size / 28))
    near[
        : round(max(left.cy, right.cy)), max(0, round(left.cx + left.a)) : max(0, round(right.cx - right.a))
    ] = 1
    found = (traced > 0) | ((near > 0) & (dark > 0.7 * darkness))
    # straight above the eyes (lids and brows) only a dark frame's top arc: the trace, widened to
    # where it is as dark; never the eyes, nor above the brows (hair)
    above = np.zeros((size, size), np.uint8)
    for eye in corners:
        above[: eye[:, 1].max(), eye[:, 0].min() : eye[:, 0].max()] = 1
    top = np.zeros_like(found)
    if darkness >= _DARK_FRAME:
        top = (cv2.dilate(traced, _disk(size / 40)) > 0) & (dark > 0.7 * darkness)
        if source:
            loops = _loops(smooth, lenses, size)
            found, top = found | loops, top | loops
    found = np.where(cv2.dilate(above, _disk(size / 40)) > 0, top, found)
    found &= cv2.dilate(np.maximum(*openings), _disk(size / 40)) == 0
    found[: max(0, round(landmarks[_BROWS, 1].min()))] = False
    return cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def _eyes_as_skin(luma: np.ndarray, openings: list[np.ndarray], size: int) -> np.ndarray:
    """``luma`` with each eye's opening (``openings``: (S, S) uint8, 1 inside), grown by a margin,
    no lighter than the skin round it (its median). Beside an eye's whites a lid is a dark line
    round the eye: against a darker skin, whose whites are as light as any, the lower lids read as
    lower rims (the darker astronaut without glasses: 0.033-0.046, past :data:`_MIN_DARKNESS`).
    Only the light is capped: the same median taken as the whole opening moved the rims found on
    Grace Hopper's drifting face from one look to the next (with sensor noise, the ring's median
    moves)."""
    out = luma.copy()
    for eye in openings:
        grown = cv2.dilate(eye, _disk(size / 40))
        ring = cv2.dilate(grown, _disk(size / 40)) > grown
        if ring.any():  # (an eye outside the crop has none)
            out[grown > 0] = np.minimum(luma[grown > 0], np.median(luma[ring]))
    return out


def _disk(diameter: float) -> np.ndarray:
    """A disk of the odd width nearest ``diameter``."""
    width = 2 * round(diameter / 2) + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width))


def _traced(darkness: np.ndarray, lens: Oval, floor: float) -> list[np.ndarray]:
    """The rim itself near ``lens``: the darkest loop round it between 0.75 and 1.4 times the oval
    that moves little from one angle to the next (one line, not the wrinkles beside it), where
    darker than ``floor``; as runs of (x, y) points."""
    angles = np.linspace(0.0, 2 * np.pi, _TRACE_ANGLES, endpoint=False)
    scales = np.linspace(0.75, 1.4, 27)
    ovals = np.array([lens.cx, lens.cy, lens.a, lens.b, lens.n]) * np.ones((len(scales), 1))
    ovals[:, 2:4] *= scales[:, None]
    points = _points(ovals, angles).astype(np.float32)  # (scales, angles, 2)
    along = cv2.remap(darkness, points[..., 0], points[..., 1], cv2.INTER_LINEAR)
    best = _darkest_loop(along)
    columns = np.arange(_TRACE_ANGLES)
    rim = points[best, columns]
    dark = along[best, columns] > floor
    runs = np.split(np.arange(_TRACE_ANGLES), np.flatnonzero(np.diff(dark.astype(int))) + 1)
    return [rim[run] for run in runs if dark[run[0]] and len(run) > 1]


def _loops(darkness: np.ndarray, lenses: tuple[Oval, Oval], size: int) -> np.ndarray:
    """(S, S) bool: the whole traced loop round each lens, as wide as a thick rim. Where a brow
    meets a frame the two are too wide together to be darker than beside them, and the trace
    breaks; on a target the skin model keeps the frame there, but a source's gap was pasted onto
    every target (the darker astronaut's frames' outer top corners: a violet blotch at the ends of
    the brows)."""
    loops = np.zeros((size, size), np.uint8)
    for lens in lenses:
        for run in _traced(darkness, lens, -np.inf):  # (no floor: one run, the whole loop)
            cv2.polylines(loops, [np.round(run).astype(np.int32)], True, (1,), round(size / 20))
    return loops > 0


def _darkest_loop(along: np.ndarray) -> np.ndarray:
    """(A,) row per column of ``along`` (rows: scales, columns: angles round a loop) on the
    darkest path that moves at most one row per column (Viterbi; twice round the loop, the
    middle turn kept, so its ends meet)."""
    rows, angles = along.shape
    gain = np.concatenate([along, along], axis=1)
    total = gain[:, 0].copy()
    came_from = np.zeros((rows, 2 * angles), int)
    for column in range(1, 2 * angles):
        padded = np.concatenate([[-np.inf], total, [-np.inf]])
        options = np.stack([padded[:-2], total, padded[2:]])  # from the row above, the same, below
        step = options.argmax(axis=0)
        came_from[:, column] = np.arange(rows) + step - 1
        total = options[step, np.arange(rows)] + gain[:, column]
    path = np.empty(2 * angles, int)
    path[-1] = int(total.argmax())
    for column in range(2 * angles - 1, 0, -1):
        path[column - 1] = came_from[path[column], column]
    middle = path[angles // 2 : angles // 2 + angles]
    return np.roll(middle, angles // 2)


def _darker_than_beside(luma: np.ndarray, width: float) -> np.ndarray:
    """How much darker each pixel is than what lies within ``width`` pixels of it (a black-hat:
    lines thinner than ``width``), relative to that."""
    closed = cv2.morphologyEx(luma, cv2.MORPH_CLOSE, _disk(width))
    return (closed - luma) / np.maximum(closed, 0.05)


def _points(ovals: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(..., A, 2): the points of superellipses (..., 5: cx, cy, a, b, n) at ``angles``."""
    cx, cy, a, b, n = (ovals[..., k, None] for k in range(5))
    cos, sin = np.cos(angles), np.sin(angles)
    x = cx + a * np.sign(cos) * np.abs(cos) ** (2 / n)
    y = cy + b * np.sign(sin) * np.abs(sin) ** (2 / n)
    return np.stack([x, y], axis=-1)


def _lenses(darkness: np.ndarray, landmarks: np.ndarray) -> tuple[Oval, Oval] | None:
    """The image-left and image-right ovals, of one shape mirrored (glasses are symmetric; wrinkles
    and folds are not), that hold the eyes, lie between the nose's midline and the nose tip's
    height, and are darkest along their lower arcs (the lesser of the two). None where no oval
    fits (a face turned so far that one eye nearly meets the nose's midline)."""
    eyes = sorted((_ovals(landmarks, contour, iris) for contour, iris in _EYES), key=lambda e: e[0][0, 0])
    allowed = eyes[0][1] & eyes[1][1]
    if not allowed.any():
        return None
    scores = [_lower_arc_darkness(darkness, ovals[allowed]) for ovals, _, _ in eyes]
    k = int(np.minimum(*scores).argmax())
    chosen = []
    for score, (ovals, _, width) in zip(scores, eyes, strict=True):
        cx, cy, a, b, n = ovals[allowed][k].tolist()
        chosen.append(Oval(float(score[k]), cx, cy, a, b, n, width))
    left, right = chosen
    return left, right


def _ovals(landmarks: np.ndarray, contour: list[int], iris: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Every oval of :data:`_SHAPES` round one eye, (N, 5) in crop pixels; (N,) whether it holds
    the eye and keeps to its side of the nose, above the nose tip; and the eye's width."""
    eye = landmarks[contour]
    width = float(np.ptp(eye[:, 0]))
    midline = landmarks[_MIDLINE_BETWEEN_EYES, 0]
    outwards = np.sign(landmarks[iris, 0] - midline)
    dx, dy, a, b, n = (column[:, None] for column in _SHAPES.T)
    cx, cy = landmarks[iris, 0] + outwards * dx * width, landmarks[iris, 1] + dy * width
    a, b = a * width, b * width
    reach = np.abs((eye[:, 0] - cx) / a) ** n + np.abs((eye[:, 1] - cy) / b) ** n
    allowed = (
        (reach.max(axis=1, keepdims=True) <= _HOLDS_EYE)
        & (outwards * (cx - outwards * a - midline) >= 0)  # the inner side
        & (cy + b <= landmarks[NOSE_TIP, 1])
    )
    return np.concatenate([cx, cy, a, b, n], axis=1), allowed[:, 0], width


def _lower_arc_darkness(darkness: np.ndarray, ovals: np.ndarray) -> np.ndarray:
    """(N,): the darkness that 70% of each oval's lower arc reaches."""
    arcs = _points(ovals, _LOWER_ARC).astype(np.float32)  # (N, angles, 2)
    along = cv2.remap(darkness, arcs[..., 0], arcs[..., 1], cv2.INTER_LINEAR)
    k = int(0.3 * along.shape[1])
    return np.partition(along, k, axis=1)[:, k]
