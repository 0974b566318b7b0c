"""Occluders drawn on a face, placed by its landmarks: test and benchmark inputs for
:mod:`rtswap.blend.occluders.skin`, and the measures that go with them."""

from __future__ import annotations

import cv2
import numpy as np

from rtswap.geometry.landmarks import (
    CHIN,
    FOREHEAD,
    LEFT_EYE_OUTER,
    LEFT_IRIS,
    MOUTH_LEFT,
    MOUTH_RIGHT,
    RIGHT_EYE_OUTER,
    RIGHT_IRIS,
)

BROW_TOPS = [105, 334]
"""The top of each eyebrow's arch."""

FRAME_COLOUR = (60, 35, 25)
TINTED_FRAME_COLOUR = (170, 95, 70)
"""Clear plastic of a skin-like tint, drawn at :data:`TINTED_FRAME_OPACITY`: frames the skin
model cannot tell from skin, and only their shape gives away (:mod:`rtswap.blend.occluders.rims`)."""
TINTED_FRAME_OPACITY = 0.45
SUNGLASS_COLOUR = (20, 20, 25)
SUNGLASS_OPACITY = 0.85
HAND_COLOUR = (82, 52, 38)


def with_glasses(
    image: np.ndarray,
    landmarks: np.ndarray,
    colour: tuple[int, int, int] = FRAME_COLOUR,
    opacity: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with glasses frames drawn around the eyes (dark and solid unless told),
    and the frames' mask."""
    left, right = landmarks[LEFT_IRIS, :2], landmarks[RIGHT_IRIS, :2]
    spacing = float(np.linalg.norm(right - left))
    thickness = max(2, round(spacing * 0.06))
    mask, lenses = np.zeros(image.shape[:2], np.uint8), _lenses(landmarks)
    for middle, axes in lenses:
        cv2.ellipse(mask, middle, axes, 0, 0, 360, (255,), thickness)
    axes = lenses[0][1]
    bridge_y = round((left[1] + right[1]) / 2 - spacing * 0.02)
    x0, x1 = round(left[0] + axes[0]), round(right[0] - axes[0])
    cv2.line(mask, (x0, bridge_y), (x1, bridge_y), (255,), thickness)
    for centre, side in ((left, -1), (right, 1)):  # the arms, out to the ears
        y = round(centre[1])
        cv2.line(
            mask,
            (round(centre[0] + side * axes[0]), y),
            (round(centre[0] + side * spacing), y),
            (255,),
            thickness,
        )
    out = image.copy()
    drawn = mask > 0
    out[drawn] = np.round((1 - opacity) * image[drawn] + opacity * np.array(colour)).astype(np.uint8)
    return out, drawn


def _lenses(landmarks: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Each lens's centre and half-axes (pixels): an oval round each eye, a little below it."""
    left, right = landmarks[LEFT_IRIS, :2], landmarks[RIGHT_IRIS, :2]
    spacing = float(np.linalg.norm(right - left))
    axes = (round(spacing * 0.42), round(spacing * 0.3))
    return [((round(c[0]), round(c[1] + spacing * 0.05)), axes) for c in (left, right)]


def with_sunglasses(
    image: np.ndarray, landmarks: np.ndarray, opacity: float = SUNGLASS_OPACITY
) -> np.ndarray:
    """A copy of ``image`` with dark glasses: :func:`with_glasses`' frames, their lenses filled
    with :data:`SUNGLASS_COLOUR` at ``opacity`` (by default :data:`SUNGLASS_OPACITY`)."""
    out, _ = with_glasses(image, landmarks)
    lenses = np.zeros(image.shape[:2], np.uint8)
    for centre, axes in _lenses(landmarks):
        cv2.ellipse(lenses, centre, axes, 0, 0, 360, (255,), -1)
    dark = lenses > 0
    out[dark] = np.round((1 - opacity) * out[dark] + opacity * np.array(SUNGLASS_COLOUR))
    return out


def with_hand(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a hand shape (palm and four fingers, from below) over the mouth,
    and its mask. Its skin is darker than the face's: a hand of the face's own tone is not found."""
    mouth = (landmarks[MOUTH_LEFT, :2] + landmarks[MOUTH_RIGHT, :2]) / 2
    width = float(np.linalg.norm(landmarks[MOUTH_RIGHT, :2] - landmarks[MOUTH_LEFT, :2])) * 1.6
    chin_y = float(landmarks[CHIN, 1])
    mask = np.zeros(image.shape[:2], np.uint8)
    palm_top = mouth[1] + width * 0.1
    palm = np.array(
        [
            (mouth[0] - width / 2, palm_top),
            (mouth[0] + width / 2, palm_top),
            (mouth[0] + width * 0.45, chin_y + width * 0.8),
            (mouth[0] - width * 0.45, chin_y + width * 0.8),
        ]
    )
    cv2.fillConvexPoly(mask, np.round(palm).astype(np.int32), (255,))
    finger = width / 4
    for k in range(4):
        x = mouth[0] - width / 2 + finger * (k + 0.5)
        top = mouth[1] - width * (0.35 + 0.1 * (k in (1, 2)))
        cv2.line(mask, (round(x), round(palm_top)), (round(x), round(top)), (255,), round(finger * 0.8))
    out = image.copy()
    out[mask > 0] = HAND_COLOUR
    return out, mask > 0


def with_open_hand(
    image: np.ndarray, landmarks: np.ndarray, colour: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with an open hand over the mouth (palm towards the camera, fingers up
    over the cheeks and nose, thumb out to the side, the forearm down to the side) of
    ``colour``, shaded round, and its mask.
    Of the face's own :func:`skin_tone`, it is a hand that only a hand model finds."""
    mouth = (landmarks[MOUTH_LEFT, :2] + landmarks[MOUTH_RIGHT, :2]) / 2
    face_height = float(landmarks[:, 1].max() - landmarks[:, 1].min())
    palm = face_height * 0.45  # the palm's width
    centre = (mouth[0], mouth[1] + face_height * 0.15)
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(
        mask,
        (round(centre[0]), round(centre[1])),
        (round(palm * 0.5), round(palm * 0.55)),
        0,
        0,
        360,
        (255,),
        -1,
    )
    wrist = (round(centre[0]), round(centre[1] + palm * 0.4))
    elbow = (round(wrist[0] - palm * 2.5), round(wrist[1] + palm * 3))
    cv2.line(mask, wrist, elbow, (255,), round(palm * 0.6))
    radius = palm * 0.11
    bones = [
        ((-0.36, -0.45), 0.75, -12),
        ((-0.12, -0.52), 0.95, -4),
        ((0.12, -0.52), 0.9, 4),
        ((0.36, -0.45), 0.7, 12),
        ((-0.45, 0.1), 0.6, -55),  # the thumb
    ]
    for (x, y), length, degrees in bones:
        base = np.array([centre[0] + x * palm, centre[1] + y * palm])
        tip = base + length * palm * np.array([np.sin(np.radians(degrees)), -np.cos(np.radians(degrees))])
        cv2.line(
            mask,
            tuple(np.round(base).astype(int)),
            tuple(np.round(tip).astype(int)),
            (255,),
            round(2 * radius),
        )
        cv2.circle(mask, tuple(np.round(tip).astype(int)), round(radius), (255,), -1)
    roundness = np.sqrt(np.clip(cv2.distanceTransform(mask, cv2.DIST_L2, 5) / radius, 0, 1))
    out = image.copy()
    inside = mask > 0
    out[inside] = np.round(np.array(colour) * (0.55 + 0.45 * roundness[inside, None])).clip(0, 255)
    return out, inside


def skin_tone(image: np.ndarray, landmarks: np.ndarray) -> tuple[int, int, int]:
    """The face's own skin colour: the median over the cheeks, lit as the face is."""
    cheeks = np.round(landmarks[[50, 280], :2]).astype(int)
    samples = np.concatenate([image[y - 4 : y + 5, x - 4 : x + 5].reshape(-1, 3) for x, y in cheeks])
    r, g, b = (int(v) for v in np.median(samples, axis=0))
    return r, g, b


def forehead_rows(before: np.ndarray, after: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Per-row change of mean luma ([0, 1]) across the forehead, from the top of the face to just
    above the brows, between the eyes' outer corners: a source's fringe pasted on shows as a band
    of rows that all darken."""
    x0, x1 = round(landmarks[LEFT_EYE_OUTER, 0]), round(landmarks[RIGHT_EYE_OUTER, 0])
    y0, y1 = round(landmarks[FOREHEAD, 1]), round(landmarks[BROW_TOPS, 1].min()) - 3
    weights = np.array([0.299, 0.587, 0.114]) / 255
    return (after[y0:y1, x0:x1] @ weights).mean(axis=1) - (before[y0:y1, x0:x1] @ weights).mean(axis=1)


MASK_COLOURS = {
    "white": (232, 236, 240),
    "blue": (118, 172, 214),
    "black": (34, 34, 38),
    "green": (96, 168, 138),
}
"""Surgical and cloth masks as they come."""
_NOSE_BRIDGE = 197
_LOWER_OVAL = [323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93]
"""The face's outline from the right cheek, level with the nose, round the chin to the left."""


def with_face_mask(
    image: np.ndarray,
    landmarks: np.ndarray,
    colour: tuple[int, int, int] = MASK_COLOURS["blue"],
    texture: str = "flat",
    size: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a mask worn over the nose, mouth and chin, and its mask: its top
    edge curved over the bridge of the nose, a little proud of the face's outline, shaded as a
    curved surface. ``texture``: ``flat``, ``pleated`` (three folds across) or ``patterned``
    (dots); ``size`` scales it about the mouth."""
    top = _quadratic(landmarks[93, :2], landmarks[_NOSE_BRIDGE, :2], landmarks[323, :2])
    outline = np.concatenate([top, landmarks[_LOWER_OVAL, :2]])
    mouth = (landmarks[MOUTH_LEFT, :2] + landmarks[MOUTH_RIGHT, :2]) / 2
    outline = mouth + (outline - mouth) * 1.06 * size
    return _worn(image, outline, colour, texture, landmarks)


def with_scarf(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a knitted red scarf wrapped up to just under the nose, and its
    mask: wider than the face, down past the chin."""
    nose_base = landmarks[2, :2]
    left, right = landmarks[132, :2], landmarks[361, :2]
    top = _quadratic(
        left + (left - nose_base) * 0.25, nose_base + (0.0, 4.0), right + (right - nose_base) * 0.25
    )
    chin = landmarks[CHIN, :2]
    width = float(np.linalg.norm(right - left))
    bottom = np.array(
        [right + (width * 0.3, width * 0.6), chin + (0.0, width * 0.5), left + (-width * 0.3, width * 0.6)]
    )
    return _worn(image, np.concatenate([top, bottom]), (150, 40, 45), "knitted", landmarks)


def with_microphone(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A copy of ``image`` with a hand-held microphone in front of the mouth (a dark rounded head,
    its handle down past the chin), and its mask."""
    mouth = (landmarks[MOUTH_LEFT, :2] + landmarks[MOUTH_RIGHT, :2]) / 2
    width = float(np.linalg.norm(landmarks[MOUTH_RIGHT, :2] - landmarks[MOUTH_LEFT, :2]))
    mask = np.zeros(image.shape[:2], np.uint8)
    head_w, head_h = round(width * 0.45), round(width * 0.6)
    centre = (round(mouth[0]), round(mouth[1] + width * 0.1))
    cv2.ellipse(mask, centre, (head_w, head_h), 0, 0, 360, (255,), -1)
    handle_end = (centre[0] + round(width * 0.3), image.shape[0])
    cv2.line(mask, centre, handle_end, (255,), round(width * 0.35))
    out = image.copy()
    inside = mask > 0
    grille = ((np.indices(mask.shape).sum(axis=0) // 3) % 2)[inside, None]
    out[inside] = np.array((28, 28, 30)) + 10 * grille
    return out, inside


def _quadratic(start: np.ndarray, middle: np.ndarray, end: np.ndarray, points: int = 24) -> np.ndarray:
    """(points, 2) along the parabola from ``start`` through ``middle`` to ``end``."""
    t = np.linspace(0.0, 1.0, points)[:, None]
    control = 2 * middle - (start + end) / 2  # the control point that puts t = 0.5 on ``middle``
    return (1 - t) ** 2 * start + 2 * t * (1 - t) * control + t**2 * end


def _worn(
    image: np.ndarray, outline: np.ndarray, colour: tuple[int, int, int], texture: str, landmarks: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``image`` with the cloth inside ``outline`` (N, 2), shaded darker towards its sides as a
    surface round the face, and the cloth's mask."""
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(outline).astype(np.int32)], (255,))
    inside = mask > 0
    ys, xs = np.nonzero(inside)
    centre_x = float(landmarks[_NOSE_BRIDGE, 0])
    half_width = max(1.0, float(np.abs(outline[:, 0] - centre_x).max()))
    shade = 1.0 - 0.25 * ((xs - centre_x) / half_width) ** 2
    height = max(1.0, float(outline[:, 1].max() - outline[:, 1].min()))
    along = (ys - outline[:, 1].min()) / height
    if texture == "pleated":
        shade *= 1.0 - 0.18 * (np.abs(((along * 3) % 1.0) - 0.5) < 0.06)
    elif texture == "knitted":
        shade *= 0.88 + 0.12 * np.sin(xs * 1.3) * np.sin(ys * 0.9)
    cloth = np.array(colour, np.float64) * shade[:, None]
    if texture == "patterned":
        dots = ((xs // 7 + ys // 7) % 3 == 0) & (xs % 7 > 2) & (ys % 7 > 2)
        cloth[dots] = (250, 220, 60)
    out = image.copy()
    out[inside] = np.round(cloth).clip(0, 255).astype(np.uint8)
    return out, inside
