"""Background looks wait for the frame path's slack: the frame they were handed over from leaves
the pipeline first, so the look does not take turns with that frame's later stages."""

from __future__ import annotations

import threading
import time

import torch

from rtswap.background import MAX_DEFER_S, Background, FramePath


def test_a_look_waits_until_its_frame_is_out() -> None:
    path, ran = FramePath(), threading.Event()
    background = Background(torch.device("cpu"), path)
    try:
        assert background.submit(ran.set)
        assert not ran.wait(MAX_DEFER_S / 2)  # its frame is still on the path
        path.frame_out()
        assert ran.wait(10)  # then it runs
    finally:
        background.close()


def test_a_look_runs_anyway_on_a_path_that_is_never_idle() -> None:
    path, ran = FramePath(), threading.Event()
    background = Background(torch.device("cpu"), path)
    try:
        submitted = time.perf_counter()
        assert background.submit(ran.set)
        assert ran.wait(10)  # no frame went out: it waited its longest, no more
        assert time.perf_counter() - submitted >= MAX_DEFER_S
        assert background.times.ages_ms[0] >= MAX_DEFER_S * 1000  # its age counts the wait
    finally:
        background.close()
