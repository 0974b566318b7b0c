"""Synthetic live input: the astronaut's still photo moved through head poses and expressions.

Used by ``rtswap demo``, by ``--input synthetic`` and by the tests and benchmarks. The motion is
made with our own mesh warp: the face's 3D landmarks are rotated about a point behind the face and
projected, the jaw drops to open the mouth, the upper lids close to blink, and the photo is warped
piecewise-affinely from the original landmarks to the moved ones, the nearest surface in front.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
import torch
from scipy.spatial import Delaunay

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.errors import NoFaceError
from rtswap.geometry.align import pixel_grid
from rtswap.geometry.landmarks import LEFT_IRIS, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP, UPPER_LIP_INNER
from rtswap.geometry.raster import interpolate, rasterize
from rtswap.geometry.topology import FACE_OVAL, LEFT_EYE_HOLE, MOUTH_HOLE, RIGHT_EYE_HOLE
from rtswap.media.samples import astronaut

FLAT_DEPTH = 0.6
"""The default depth scale: flattens the face before turning it. A full-depth turn hides the far
cheek behind the nose, and the ring of hair and ears beyond the face is stretched across the gap it
leaves, a visible smear; flattened, the far cheek narrows but stays in view."""
_MOUTH_COLOUR = np.array([70.0, 25.0, 30.0])


@dataclass(frozen=True)
class Motion:
    """One frame's head state."""

    yaw: float = 0.0
    """Degrees; > 0 turns the face towards image right."""
    pitch: float = 0.0
    """Degrees; > 0 tilts the face up."""
    mouth: float = 0.0
    """0 = as photographed, 1 = wide open."""
    blink: float = 0.0
    """0 = eyes as photographed, 1 = closed."""


def demo_motion(t: float, phase: float = 0.0) -> Motion:
    """A 5-second cycle: turn left and right, nod, open the mouth twice, blink three times."""
    t = t + phase
    pulse = lambda centre, width: math.exp(-((((t % 5.0) - centre) / width) ** 2))  # noqa: E731
    return Motion(
        yaw=22.0 * math.sin(2 * math.pi * t / 5.0),
        pitch=10.0 * math.sin(2 * math.pi * t / 2.5),
        mouth=max(pulse(1.2, 0.35), pulse(3.6, 0.35)),
        blink=max(pulse(0.6, 0.07), pulse(2.4, 0.07), pulse(4.3, 0.07)),
    )


class SyntheticHead:
    """Renders one still face under a :class:`Motion`. ``image``: HxWx3 uint8 RGB with one face."""

    def __init__(self, image: np.ndarray, landmarks: np.ndarray, depth_scale: float = FLAT_DEPTH) -> None:
        """``depth_scale``: 1 turns the face as the rigid 3D shape its landmarks describe."""
        self.image, self.depth_scale = image, depth_scale
        self.landmarks = landmarks.astype(np.float64)
        box_min, box_max = self.landmarks[:, :2].min(0), self.landmarks[:, :2].max(0)
        centre, half = (box_min + box_max) / 2, (box_max - box_min) / 2
        h, w = image.shape[:2]
        lo = np.maximum(np.floor(centre - 2.4 * half), 0)
        hi = np.minimum(np.ceil(centre + 2.4 * half), [w - 1, h - 1])
        self.roi = (int(lo[0]), int(lo[1]), int(hi[0]) + 1, int(hi[1]) + 1)
        anchors = np.array(
            [
                [x, y]
                for x in np.linspace(lo[0], hi[0], 5)
                for y in np.linspace(lo[1], hi[1], 5)
                if x in (lo[0], hi[0]) or y in (lo[1], hi[1])
            ]
        )
        # A ring outside the face oval turns with the head and carries the hair and ears along;
        # the anchors on the region's border stay put, so the warp is continuous with the photo.
        oval = self.landmarks[FACE_OVAL]
        ring = oval.copy()
        ring[:, :2] = centre + 1.3 * (oval[:, :2] - centre)
        self.solid = np.vstack([self.landmarks, ring])
        self.points = np.vstack([self.solid[:, :2], anchors])
        self.triangles = torch.as_tensor(Delaunay(self.points).simplices, dtype=torch.int64)
        self.face_width = float(box_max[0] - box_min[0])

    @classmethod
    def astronaut(cls) -> SyntheticHead:
        image = astronaut()
        with FaceAnalyzer() as analyzer:
            faces = analyzer.analyze(image, max_faces=1)
        if not faces:
            raise NoFaceError("no face found in skimage's astronaut image")
        return cls(image, faces[0].landmarks)

    def moved_landmarks(self, motion: Motion) -> np.ndarray:
        """(478, 2) landmark positions for ``motion``."""
        return self._moved(motion)[: len(self.landmarks), :2]

    def _moved(self, motion: Motion) -> np.ndarray:
        """(x, y, depth) of the landmarks and the head ring for ``motion``."""
        p = self.solid.copy()
        p = self._blink(p, motion.blink)
        p = self._open_mouth(p, motion.mouth)
        return self._rotate(p, motion.yaw, motion.pitch)

    def render(self, motion: Motion) -> np.ndarray:
        """HxWx3 uint8 RGB, the photo with the face moved."""
        solid = self._moved(motion)
        anchors = self.points[len(self.solid) :]
        moved = np.vstack([solid[:, :2], anchors])
        depth = np.concatenate([solid[:, 2], np.full(len(anchors), solid[:, 2].max())])  # border: behind
        x0, y0, x1, y1 = self.roi
        tri = torch.as_tensor(moved - [x0, y0], dtype=torch.float32)[self.triangles]
        index, bary = rasterize(
            tri, y1 - y0, x1 - x0, torch.as_tensor(depth, dtype=torch.float32)[self.triangles]
        )
        coords = interpolate(index, bary, torch.as_tensor(self.points, dtype=torch.float32), self.triangles)
        coords[index < 0] = (
            torch.as_tensor([x0, y0], dtype=torch.float32)
            + pixel_grid(y1 - y0, x1 - x0, index.device)[index < 0]
        )
        map_xy = coords.numpy()
        out = self.image.copy()
        out[y0:y1, x0:x1] = cv2.remap(self.image, map_xy[..., 0], map_xy[..., 1], cv2.INTER_LINEAR)
        self._darken_mouth(out, solid[: len(self.landmarks), :2], motion.mouth)
        return out

    def _rotate(self, p: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
        centre = p[: len(self.landmarks)].mean(0)
        centre[2] += 0.6 * self.face_width  # rotate about a point inside the head, not on the skin
        q = p - centre
        q[:, 2] *= self.depth_scale
        a, b = math.radians(yaw), math.radians(pitch)
        x = q[:, 0] * math.cos(a) - q[:, 2] * math.sin(a)
        z = q[:, 0] * math.sin(a) + q[:, 2] * math.cos(a)
        y = q[:, 1] * math.cos(b) + z * math.sin(b)
        z = z * math.cos(b) - q[:, 1] * math.sin(b)
        return np.stack([x + centre[0], y + centre[1], z], 1)

    def _open_mouth(self, p: np.ndarray, amount: float) -> np.ndarray:
        """Drop the lower lip, chin and jaw; the drop fades towards the sides of the face."""
        if amount <= 0:
            return p
        corners = p[[MOUTH_LEFT, MOUTH_RIGHT], :2]
        mouth_width = float(np.linalg.norm(corners[1] - corners[0]))
        centre_x, line_y = corners[:, 0].mean(), corners[:, 1].mean()
        below = p[:, 1] > line_y + 0.02 * mouth_width
        falloff = np.clip(1.0 - np.abs(p[:, 0] - centre_x) / (0.55 * self.face_width), 0.0, 1.0)
        p[:, 1] += below * falloff * amount * 0.35 * mouth_width
        return p

    def _blink(self, p: np.ndarray, amount: float) -> np.ndarray:
        """Bring each upper lid (and the iris) down onto the lower lid."""
        if amount <= 0:
            return p
        for loop, iris in ((LEFT_EYE_HOLE, list(range(468, 473))), (RIGHT_EYE_HOLE, list(range(473, 478)))):
            eye = p[loop, :2]
            (x0, y0), (x1, y1) = eye[np.argmin(eye[:, 0])], eye[np.argmax(eye[:, 0])]
            corner_line = y0 + (y1 - y0) / (x1 - x0) * (p[:, 0] - x0)  # eye-corner line at each x
            lower = eye[eye[:, 1] > corner_line[loop]]
            lower = lower[np.argsort(lower[:, 0])]
            upper = [i for i in loop if p[i, 1] < corner_line[i]] + iris
            closed_y = np.interp(p[upper, 0], lower[:, 0], lower[:, 1])
            p[upper, 1] += amount * (closed_y - p[upper, 1])
        return p

    def _darken_mouth(self, image: np.ndarray, moved: np.ndarray, amount: float) -> None:
        """Shade the opened mouth: the stretched teeth of the still photo fade into a dark interior."""
        if amount <= 0.05:
            return
        mask = np.zeros(image.shape[:2], np.float32)
        cv2.fillPoly(mask, [np.round(moved[MOUTH_HOLE]).astype(np.int32)], (1.0,))
        mask = cv2.GaussianBlur(mask, (0, 0), 2.0)[..., None] * min(1.0, amount) * 0.85
        image[:] = (image * (1 - mask) + _MOUTH_COLOUR * mask).astype(np.uint8)


def cheek_roughness(image: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(image-left, image-right) mean absolute Laplacian of the grey image in a band just inside
    the face's outline, from the eyes down to the mouth, on each side of the nose: on a turned
    face, the far cheek's band is where a warp tears into jagged patches. The band is 6% of the
    face's height wide."""
    points = landmarks[:, :2]
    hull = np.zeros(image.shape[:2], np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(points.astype(np.int32)), (1,))
    width = max(3, round(0.06 * float(np.ptp(points[:, 1]))))
    band = (hull > 0) & (cv2.erode(hull, np.ones((width, width), np.uint8)) == 0)
    ys, xs = np.mgrid[: image.shape[0], : image.shape[1]]
    band &= (ys > points[LEFT_IRIS, 1]) & (ys < points[UPPER_LIP_INNER, 1])
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    laplacian = np.abs(cv2.Laplacian(grey, cv2.CV_32F))
    left = xs < points[NOSE_TIP, 0]
    return float(laplacian[band & left].mean()), float(laplacian[band & ~left].mean())


class SyntheticClip:
    """Frames of one or more moving astronaut heads on a ``width`` x ``height`` canvas.

    ``faces`` heads are laid out in a grid, each with its own phase of :func:`demo_motion`;
    ``face_scale`` scales them (1.0: one head fills the canvas height).
    """

    def __init__(
        self,
        width: int = 1280,
        height: int = 720,
        fps: float = 30.0,
        seconds: float = 5.0,
        faces: int = 1,
        face_scale: float = 1.0,
        head: SyntheticHead | None = None,
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.frame_count = max(1, round(seconds * fps))
        self.faces = faces
        self.face_scale = face_scale
        self._head = head

    @cached_property
    def head(self) -> SyntheticHead:
        return self._head or SyntheticHead.astronaut()

    @property
    def custom_head(self) -> bool:
        """Whether the clip moves a head other than the default astronaut."""
        return self._head is not None

    def __len__(self) -> int:
        return self.frame_count

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.frame(i) for i in range(self.frame_count))

    def cells(self) -> list[tuple[int, int, int]]:
        """(x0, y0, side) of each head's square on the canvas."""
        cols = math.ceil(math.sqrt(self.faces))
        rows = math.ceil(self.faces / cols)
        side = int(min(self.width / cols, self.height / rows) * self.face_scale)
        cell_w, cell_h = self.width / cols, self.height / rows
        return [
            (int((i % cols + 0.5) * cell_w - side / 2), int((i // cols + 0.5) * cell_h - side / 2), side)
            for i in range(self.faces)
        ]

    def frame(self, index: int) -> np.ndarray:
        """HxWx3 uint8 RGB frame ``index``."""
        t = index / self.fps
        canvas = self._background()
        for i, (x0, y0, side) in enumerate(self.cells()):
            head = self.head.render(demo_motion(t, phase=1.7 * i))
            drift = int(0.04 * side * math.sin(2 * math.pi * (t + i) / 7.0))
            _paste(canvas, cv2.resize(head, (side, side), interpolation=cv2.INTER_AREA), x0 + drift, y0)
        return canvas

    @cached_property
    def _background_image(self) -> np.ndarray:
        backdrop = cv2.resize(
            self.head.image[:64, :64], (self.width, self.height), interpolation=cv2.INTER_CUBIC
        )
        return cv2.GaussianBlur(backdrop, (0, 0), 15)

    def _background(self) -> np.ndarray:
        return self._background_image.copy()


def _paste(canvas: np.ndarray, tile: np.ndarray, x0: int, y0: int) -> None:
    h, w = canvas.shape[:2]
    cx0, cy0, cx1, cy1 = max(x0, 0), max(y0, 0), min(x0 + tile.shape[1], w), min(y0 + tile.shape[0], h)
    if cx1 > cx0 and cy1 > cy0:
        canvas[cy0:cy1, cx0:cx1] = tile[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
