import numpy as np

from rtswap.track.smooth import LandmarkSmoother, OneEuroFilter


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
    return rng.normal(0.0, 50.0, size=(100, 2))  # a face's landmarks, about 200 px across


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
