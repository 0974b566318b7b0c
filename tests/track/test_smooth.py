import numpy as np

from rtswap.track.smooth import OneEuroFilter


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
