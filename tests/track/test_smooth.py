import numpy as np
import pytest

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.topology import LEFT_EYE_HOLE, RIGHT_EYE_HOLE, around
from rtswap.track.smooth import LandmarkSmoother, OneEuroFilter, aperture


def test_still_noisy_points_are_steadied() -> None:
    rng = np.random.default_rng(0)
    raw = 100.0 + rng.normal(0.0, 1.0, size=(300, 478, 2))  # a still head, 1 px of landmark noise
    smoother = OneEuroFilter()
    smoothed = np.stack([smoother(x, t / 30, scale=200.0) for t, x in enumerate(raw)])
    assert smoothed[30:].std(axis=0).mean() < 0.35 * raw[30:].std(axis=0).mean()


def test_a_moving_head_is_followed_without_much_lag() -> None:
    smoother = OneEuroFilter()
    speed = 300.0  # px per second: a quick head turn
    for t in range(60):
        out = smoother(np.array([speed * t / 30]), t / 30, scale=200.0)
    assert speed * 59 / 30 - out[0] < 0.1 * speed  # less than 0.1 s behind


def _face(rng: np.random.Generator) -> np.ndarray:
    return rng.normal(0.0, 50.0, size=(478, 2))  # a face mesh's landmarks, about 200 px across


def test_a_drifting_face_keeps_its_shape_steadier_than_one_filter_per_coordinate() -> None:
    """The face slides 0.25 px a frame, its landmarks jitter 0.2 px: apart from its place, its
    shape keeps still and is smoothed as a still one (0.4x the jitter passed)."""
    rng = np.random.default_rng(0)
    face = _face(rng)
    apart, together = LandmarkSmoother(), OneEuroFilter(1.0, 2.0)  # (the tracker's filter before)
    jitter = {}
    for name, smoother in (("apart", apart), ("together", together)):
        out = []
        for t in range(120):
            drift = np.array([0.25 * t, 0.0])
            raw = face + drift + rng.normal(0.0, 0.2, face.shape)
            out.append(smoother(raw, t / 30, scale=200.0) - drift)
        jitter[name] = np.abs(np.diff(out[30:], axis=0)).mean()
    assert jitter["apart"] < 0.6 * jitter["together"]


def test_a_mouth_opening_is_followed_as_closely_as_by_one_filter_per_coordinate() -> None:
    """Ten landmarks (the lips) move down 10% of the face in 0.1 s, then in 0.3 s: the shape's
    cutoff rises with their speed, and they lag no more than under one filter per coordinate."""
    for seconds in (0.1, 0.3):
        lags = []
        for smoother in (LandmarkSmoother(), OneEuroFilter(1.0, 2.0)):
            face, worst = _face(np.random.default_rng(1)), 0.0
            for t in range(45):
                opened = np.clip((t / 30 - 0.5) / seconds, 0.0, 1.0) * 20.0
                raw = face.copy()
                raw[:10, 1] += opened
                out = smoother(raw, t / 30, scale=200.0)
                worst = max(worst, abs(float((out[:10, 1] - face[:10, 1]).mean()) - opened))
            lags.append(worst)
        assert lags[0] <= lags[1]


_BLINK = [0.35, 0.75, 1.0, 1.0, 0.8, 0.5, 0.25, 0.1]
"""How far shut an eye is, frame by frame at 30 fps: a blink of about 300 ms."""


def _blinking(landmarks: np.ndarray, shut: float) -> np.ndarray:
    """The face with both upper lids (the eye rims' points above their middle) lowered ``shut``
    of the way onto the lower ones."""
    out = landmarks.copy()
    for rim in (LEFT_EYE_HOLE, RIGHT_EYE_HOLE):
        points = landmarks[rim, :2]
        upper = [i for i, y in zip(rim, points[:, 1], strict=True) if y < points[:, 1].mean()]
        out[upper, 1] += shut * 0.85 * float(np.ptp(points[:, 1]))
    return out


def test_a_blink_is_followed_and_a_still_face_s_lids_stay_steady(
    analyzer: FaceAnalyzer, astro: np.ndarray
) -> None:
    """The astronaut's landmarks with 0.15 px of noise each frame, blinking from frame 30: the
    smoothed eyes close and open with the blink, at most 0.06 of aperture behind, and are open
    again when it is over (the shape's own filter alone, whose cutoff rises with a lid's few
    pixels of speed, was 0.13 behind as the eye opened and 0.12 a frame after); before the blink
    the lids keep steady."""
    face = analyzer.analyze(astro)[0].landmarks
    rng = np.random.default_rng(0)
    smoother, behind, lids = LandmarkSmoother(), [], []
    for t in range(50):
        shut = _BLINK[t - 30] if 0 <= t - 30 < len(_BLINK) else 0.0
        given = _blinking(face, shut)
        out = smoother(given + rng.normal(0.0, 0.15, face.shape), t / 30, scale=float(np.ptp(face[:, 1])))
        behind.append(abs(aperture(out[LEFT_EYE_HOLE, :2]) - aperture(given[LEFT_EYE_HOLE, :2])))
        lids.append(out[LEFT_EYE_HOLE, :2])
    assert max(behind[30:]) < 0.06
    assert max(behind[38:]) < 0.02  # open again as soon as the blink is over
    still = np.abs(np.diff(lids[5:30], axis=0)).mean()
    assert still < 0.35 * 0.15


def test_a_noisy_face_s_lids_are_not_let_go_by_their_own_jitter(
    analyzer: FaceAnalyzer, astro: np.ndarray
) -> None:
    """As on a small face in a noisy, compressed frame: the landmarks jitter 0.6 px, and the eyes'
    apertures several times as much as on a clean one. The lids are let go by an eye's speed beyond its
    own noise, so they stay about as steady as the rest of its shape (1.09x; with the threshold
    of a clean face's noise, 1.76x)."""
    face = analyzer.analyze(astro)[0].landmarks
    rng = np.random.default_rng(0)
    smoother, lids, rest = LandmarkSmoother(), [], []
    others = np.setdiff1d(np.arange(len(face)), around(LEFT_EYE_HOLE, 2) + around(RIGHT_EYE_HOLE, 2))
    for t in range(90):
        out = smoother(face + rng.normal(0.0, 0.6, face.shape), t / 30, scale=float(np.ptp(face[:, 1])))
        lids.append(out[LEFT_EYE_HOLE + RIGHT_EYE_HOLE, :2])
        rest.append(out[others, :2])
    jitter = [np.abs(np.diff(x[30:], axis=0)).mean() for x in (lids, rest)]
    assert jitter[0] < 1.2 * jitter[1]


def test_a_glance_is_followed(analyzer: FaceAnalyzer, astro: np.ndarray) -> None:
    """The astronaut's landmarks with 0.15 px of noise each frame; from frame 30 both irises sit
    15% of an eye's width to the side (a glance, in one frame). The smoothed irises are a fifth of
    the way behind on that frame and a tenth on the next (the shape's own filter alone: 79%, then
    58%, 41%, 27%)."""
    face = analyzer.analyze(astro)[0].landmarks
    width = float(np.linalg.norm(face[133, :2] - face[33, :2]))
    rng = np.random.default_rng(0)
    smoother, behind = LandmarkSmoother(), []
    for t in range(36):
        given = face.copy()
        given[468:, 0] += 0.15 * width if t >= 30 else 0.0
        out = smoother(given + rng.normal(0.0, 0.15, face.shape), t / 30, scale=float(np.ptp(face[:, 1])))
        behind.append(abs(float(out[468, 0] - given[468, 0])) / width)
    assert max(behind[:30]) < 0.01
    assert behind[30] < 0.04 and max(behind[31:]) < 0.02  # in eye widths


_SYLLABLE = [0.5, 1.0, 1.0, 0.5]
"""How far open a mouth is, frame by frame at 30 fps: a quick syllable."""


def test_a_quick_syllable_is_followed(analyzer: FaceAnalyzer, astro: np.ndarray) -> None:
    """The astronaut's landmarks with 0.15 px of noise each frame; from frame 30 everything below
    her upper lip drops by 10% of her face's height and comes back over 4 frames. The smoothed
    lips open to at least 80% of it (82%) and the frame after the mouth has shut are no more than
    30% open (27%; with the shape's speed smoothed at One-Euro's usual 1 Hz: 74% and 41%)."""
    face = analyzer.analyze(astro)[0].landmarks
    height = float(np.ptp(face[:, 1]))
    below = face[:, 1] > face[13, 1]
    rng = np.random.default_rng(0)
    smoother, opened = LandmarkSmoother(), []
    for t in range(40):
        given = face.copy()
        given[below, 1] += 0.1 * height * (_SYLLABLE[t - 30] if 0 <= t - 30 < len(_SYLLABLE) else 0.0)
        out = smoother(given + rng.normal(0.0, 0.15, face.shape), t / 30, scale=height)
        opened.append(float((out[14, 1] - out[13, 1]) - (face[14, 1] - face[13, 1])) / (0.1 * height))
    assert max(opened) >= 0.8
    assert opened[35] <= 0.3


@pytest.mark.parametrize("pixels_a_frame", [2.0, 8.0])
def test_a_moving_head_is_not_trailed(
    analyzer: FaceAnalyzer, astro: np.ndarray, pixels_a_frame: float
) -> None:
    """The astronaut's landmarks (a 108 px face) sliding sideways, with 0.15 px of noise each
    frame: from the tenth frame on, the smoothed landmarks are less than a pixel behind (the
    place's own speed term alone left them 2.7-3.0 and 4.8-5.1 px behind: the swap trailed the head)."""
    face = analyzer.analyze(astro)[0].landmarks
    rng = np.random.default_rng(0)
    smoother, behind = LandmarkSmoother(), []
    for t in range(30):
        given = face.copy()
        given[:, 0] += pixels_a_frame * t
        out = smoother(given + rng.normal(0.0, 0.15, face.shape), t / 30, scale=float(np.ptp(face[:, 1])))
        behind.append(float((given[:, 0] - out[:, 0]).mean()))
    assert behind[2] < 3.5  # a new face: on its third frame (8 px a frame: 6.0 with speeds smoothed at 1 Hz)
    assert max(behind[10:]) < 1.0
