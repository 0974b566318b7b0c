"""Judges of a swap that know nothing of the engine: dlib's face descriptor (identity) and 68
points (mouth), head pose from a fresh face-mesh run, the target's light in the swap, and the
pixels outside the face. Used by ``benchmarks/quality.py`` and by the quality gate
(``tests/test_quality_gate.py``); needs the ``[quality]`` extra (``pip install -e ".[quality]"``)."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.mediapipe_files import face_mesh_connections


class Judge:
    """dlib's detector, shape predictors and face descriptor."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("face_recognition_models")
        if importlib.util.find_spec("dlib") is None or spec is None or not spec.submodule_search_locations:
            raise ImportError('the quality judges need the extra: pip install -e ".[quality]"')
        import dlib

        models = Path(spec.submodule_search_locations[0]) / "models"
        self.detector = dlib.get_frontal_face_detector()
        self.shape5 = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self.shape68 = dlib.shape_predictor(str(models / "shape_predictor_68_face_landmarks.dat"))
        self.encoder = dlib.face_recognition_model_v1(
            str(models / "dlib_face_recognition_resnet_model_v1.dat")
        )

    def face(self, image: np.ndarray) -> Any:
        boxes = self.detector(image, 1)
        return max(boxes, key=lambda r: r.area()) if boxes else None

    def descriptor(self, image: np.ndarray) -> np.ndarray | None:
        box = self.face(image)
        if box is None:
            return None
        return np.array(self.encoder.compute_face_descriptor(image, self.shape5(image, box)))

    def points68(self, image: np.ndarray) -> np.ndarray | None:
        box = self.face(image)
        if box is None:
            return None
        shape = self.shape68(image, box)
        return np.array([[p.x, p.y] for p in shape.parts()], np.float64)


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap (dlib 62-66) over face height (nose bridge 27 to chin 8)."""
    return float(np.linalg.norm(points[66] - points[62]) / np.linalg.norm(points[8] - points[27]))


_SHIFTS = [(0, 0), (6, 0), (0, 6), (-6, -6)]
"""The landmark model's answer moves by up to ~2° when the same face shifts by a few pixels, so
pose is compared at these shifts (the same for target and swap) and averaged."""


_GRAIN_COPIES = 4
"""dlib's and the mesh's readings of one swap jump with noise no one can see: the quality gate's
swaps plus a random ±1 level (three such copies each) read Grace Hopper's face on the astronaut
with a mouth 0.000 and 0.012-0.013 (dlib's points are whole pixels: 0.01 is one pixel of a face
100 px high), demo frame 45 with a 2D pitch 0.48° apart, and the astronaut on Grace Hopper with
d(swap, source) 0.549 to 0.636: as much as the gate allows a change to move them. So the swap's
identity, mouth and pose are read on it and on this many copies with such grain, and averaged (as
dithering does, the grain lets the average resolve finer than one reading)."""


def _with_grain(image: np.ndarray) -> list[np.ndarray]:
    """``image`` and :data:`_GRAIN_COPIES` copies with ±1 level of fixed random grain."""
    rng = np.random.default_rng(0)
    noisy = [image.astype(np.int16) + rng.integers(-1, 2, image.shape) for _ in range(_GRAIN_COPIES)]
    return [image, *(np.clip(x, 0, 255).astype(np.uint8) for x in noisy)]


def _shift(image: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    return np.roll(image, offset, axis=(1, 0))


def _mesh(analyzer: FaceAnalyzer, image: np.ndarray) -> np.ndarray:
    faces = analyzer.analyze(image, 1)
    if not faces:
        raise SystemExit("mediapipe found no face to measure pose on")
    return faces[0].landmarks


def relative_pose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|yaw|, |pitch|, |roll| (degrees) of the rotation taking 3D landmarks ``a`` onto ``b``."""
    pa, pb = (x[:468] - x[:468].mean(0) for x in (a.astype(np.float64), b.astype(np.float64)))
    u, _, vt = np.linalg.svd(pb.T @ pa)
    return _angles(u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))]) @ vt)


def relative_pose_2d(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|yaw|, |pitch|, |roll| (degrees) of the rotation that, applied to 3D landmarks ``a`` and
    projected (orthographic, scaled), lands nearest ``b``'s image positions. Only where ``b``'s
    landmarks sit in the image counts, not the landmark model's depth for them, which follows the
    face's look (brows of another shade read as a tilt)."""
    pa = a[:468].astype(np.float64) - a[:468].mean(0)
    pb = b[:468, :2].astype(np.float64) - b[:468, :2].mean(0)

    def residual(p: np.ndarray) -> np.ndarray:
        return ((pa @ Rotation.from_rotvec(p[:3]).as_matrix().T)[:, :2] * p[3] - pb).ravel()

    fit = least_squares(residual, [0.0, 0.0, 0.0, 1.0])
    return _angles(Rotation.from_rotvec(fit.x[:3]).as_matrix())


def _angles(rotation: np.ndarray) -> np.ndarray:
    yaw = math.degrees(math.asin(np.clip(-rotation[2, 0], -1, 1)))
    pitch = math.degrees(math.atan2(rotation[2, 1], rotation[2, 2]))
    roll = math.degrees(math.atan2(rotation[1, 0], rotation[0, 0]))
    return np.abs([yaw, pitch, roll])


def face_region(image: np.ndarray, analyzer: FaceAnalyzer) -> np.ndarray:
    """Bool mask: union of every face's landmark hull, dilated by 10% of that face's height."""
    mask = np.zeros(image.shape[:2], np.uint8)
    for face in analyzer.analyze(image):
        mask = np.maximum(mask, _hull(image.shape, face.landmarks[:, :2]))
        mask = np.maximum(mask, cv2.dilate(mask, _disc(0.10 * face.height)))
    return mask.astype(bool)


_LIPS = sorted({i for edge in face_mesh_connections().FACEMESH_LIPS for i in edge})
_UPPER_LIP_TOP = 0
_LIGHT_SIGMA = 0.15
"""The low frequencies of the light: a blur of this share of the face's height..."""
_PATCH_SIGMA = 0.04
"""...and a patch of the jaw: this share."""


def light(target: np.ndarray, swapped: np.ndarray, landmarks: np.ndarray) -> tuple[float, float]:
    """(:attr:`Row.light_corr`, :attr:`Row.dark_jaw`) of a swap of ``target``, whose face has the
    (478, 3) mesh ``landmarks``. Both lumas are blurred within the face's hull only (the
    background does not bleed in) and read inside it, shrunk by a twentieth of the face's height;
    the jaw and chin are what of that lies below the top of the upper lip (the nostrils are
    dark), less the lips and a margin."""
    height = float(np.ptp(landmarks[:, 1]))
    face = _hull(target.shape, landmarks[:, :2])
    inside = cv2.erode(face, _disc(0.05 * height)).astype(bool)
    lips = cv2.dilate(_hull(target.shape, landmarks[_LIPS, :2]), _disc(0.05 * height)).astype(bool)
    jaw = inside & ~lips
    jaw[: int(landmarks[_UPPER_LIP_TOP, 1]) + 1] = False
    lumas = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) for x in (target, swapped)]
    low = [_blurred_within(luma, face, _LIGHT_SIGMA * height) for luma in lumas]
    patches = [_blurred_within(luma, face, _PATCH_SIGMA * height) for luma in lumas]
    corr = float(np.corrcoef(low[0][inside], low[1][inside])[0, 1])
    return corr, float(patches[1][jaw].min() - patches[0][jaw].min())


def _hull(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(points).astype(np.int32)), (1,))
    return mask


def _disc(radius: float) -> np.ndarray:
    r = max(1, round(radius))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _blurred_within(luma: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    weights = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)
    return cv2.GaussianBlur(luma * mask, (0, 0), sigma) / np.maximum(weights, 1e-6)


@dataclass
class Row:
    pair: str
    d_target_source: float
    d_swap_source: float
    d_swap_target: float
    yaw_diff: float
    pitch_diff: float
    roll_diff: float
    pitch_diff_2d: float
    mouth_diff: float
    light_corr: float
    """The correlation of the swap's low-frequency luminance with the target's over the face (the
    target's light coming through: 1 is the target's shading exactly)."""
    dark_jaw: float
    """The swap's darkest jaw or chin patch less the target's, in levels: a source's shadow pasted
    as texture (a smudge) shows as a dark outlier, well below 0."""
    outside_max: int


def measure(
    name: str,
    judge: Judge,
    analyzer: FaceAnalyzer,
    source: np.ndarray,
    target: np.ndarray,
    swapped: np.ndarray,
) -> Row:
    d_src, d_tgt = judge.descriptor(source), judge.descriptor(target)
    copies = _with_grain(swapped)
    d_swps = [d for d in map(judge.descriptor, copies) if d is not None]
    if d_src is None or d_tgt is None or len(d_swps) < len(copies):
        raise SystemExit(f"{name}: dlib found no face in the source, target or swap")
    p_tgt, p_swps = judge.points68(target), [p for p in map(judge.points68, copies) if p is not None]
    if p_tgt is None or len(p_swps) < len(copies):
        raise SystemExit(f"{name}: dlib found no landmarks on the target or the swap")
    target_meshes = [_mesh(analyzer, _shift(target, s)) for s in _SHIFTS]
    poses, poses_2d = [], []
    for copy in copies:
        meshes = [(t, _mesh(analyzer, _shift(copy, s))) for t, s in zip(target_meshes, _SHIFTS, strict=True)]
        poses.append(np.mean([relative_pose(t, w) for t, w in meshes], axis=0))
        poses_2d.append(np.mean([relative_pose_2d(t, w) for t, w in meshes], axis=0))
    pose_diff, pose_diff_2d = np.mean(poses, axis=0), np.mean(poses_2d, axis=0)
    d_swap = [float(np.linalg.norm(d - d_src)) for d in d_swps]
    d_swap_target = [float(np.linalg.norm(d - d_tgt)) for d in d_swps]
    mouth = [abs(mouth_opening(p) - mouth_opening(p_tgt)) for p in p_swps]
    outside = ~face_region(target, analyzer)
    change = np.abs(swapped.astype(np.int16) - target.astype(np.int16)).max(axis=-1)
    light_corr, dark_jaw = light(target, swapped, analyzer.analyze(target)[0].landmarks)
    return Row(
        pair=name,
        d_target_source=float(np.linalg.norm(d_tgt - d_src)),
        d_swap_source=float(np.mean(d_swap)),
        d_swap_target=float(np.mean(d_swap_target)),
        yaw_diff=float(pose_diff[0]),
        pitch_diff=float(pose_diff[1]),
        roll_diff=float(pose_diff[2]),
        pitch_diff_2d=float(pose_diff_2d[1]),
        mouth_diff=float(np.mean(mouth)),
        light_corr=light_corr,
        dark_jaw=dark_jaw,
        outside_max=int(change[outside].max()) if outside.any() else 0,
    )
