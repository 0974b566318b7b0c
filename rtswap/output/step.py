"""The output step: pastes the composited faces into the frame, labels it, writes every sink."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from rtswap.device import download
from rtswap.frame import Frame, now_ns
from rtswap.media.label import stamp
from rtswap.output.base import Sink
from rtswap.output.stats import PipelineStats


class Output:
    """Pastes the composited faces into the frame, brings the pixels to the host once, labels
    them and hands them to every sink. (The paste happens here rather than in the composite
    stage to even out the stages' work: on CPU the composite is the longest stage.)"""

    def __init__(
        self,
        sinks: list[Sink],
        stats: PipelineStats,
        label: bool,
        on_output: Callable[[Frame, np.ndarray], None] | None,
        observe: Callable[[int], None] | None,
    ) -> None:
        """``on_output``: called with each frame and its labelled pixels; ``observe``: called
        with each frame's output time once the stats have it (the governor)."""
        self.sinks, self.stats, self.label = sinks, stats, label
        self.on_output, self.observe = on_output, observe
        self._grain: torch.Generator | None = None
        """Draws the camera's grain: seeded per stream, so a run's output is the same every time."""

    def __call__(self, frame: Frame | None) -> Frame | None:
        assert frame is not None
        start = now_ns()
        if frame.work is not None:
            assert frame.work.changes is not None
            if self._grain is None or self._grain.device != frame.image.device:
                self._grain = torch.Generator(frame.image.device).manual_seed(0)
            frame.work.regions.paste(frame.image, frame.work.changes, frame.work.grain, self._grain)
        image = download(frame.image)
        if self.label:
            stamp(image)
        for sink in self.sinks:
            sink.write(image, frame)
        frame.stamps["output"] = (start, now_ns())
        self.stats.record(frame, frame.stamps["output"][1])
        if self.observe is not None:
            self.observe(frame.stamps["output"][1])
        if self.on_output is not None:
            self.on_output(frame, image)
        return None  # the last stage: nothing to pass on
