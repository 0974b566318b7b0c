"""What ``rtswap bench`` runs: its settings, readable without importing torch (for ``--help``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rtswap.config import SwapConfig

WARMUP_S = 2.0
"""Frames output in the first seconds (graph warm-up, first allocations) are not counted."""


@dataclass
class BenchConfig:
    input: str = "synthetic"
    """``synthetic`` or a video file (looped)."""
    resolution: tuple[int, int] = (1280, 720)
    fps: float = 30.0
    """Input pacing in frames per second; 0: as fast as the pipeline takes frames."""
    seconds: float = 20.0
    """Measured time, after the warm-up."""
    faces: int = 1
    swap: SwapConfig = field(default_factory=SwapConfig)
    """The engine and how faces are swapped."""
    detect_every: int = 10
    latency_budget_ms: float | None = None
    """The governor's budget for a paced run (None: 2.5 frame intervals; 0: off)."""
    compare_sequential: bool = False
