"""Data that flows between the steps: a frame, the faces found in it, and the faces' swap work.

The bottom layer: imports nothing of rtswap's but geometry (the crops the work lives in, the mesh's
named points)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property

import numpy as np
import torch

from rtswap.geometry.crops import FaceRegions
from rtswap.geometry.landmarks import LOWER_LIP_INNER, UPPER_LIP_INNER


@dataclass
class Detection:
    """A face box the detector found (before the face mesh)."""

    box: np.ndarray
    """(4,) float: x0, y0, x1, y1 in frame pixels."""
    score: float


@dataclass
class Face:
    """One face in one frame. All coordinates are frame pixels."""

    box: np.ndarray
    """(4,) float: x0, y0, x1, y1."""
    landmarks: np.ndarray
    """(478, 3) float32: x, y in pixels; z relative depth in pixels (smaller = nearer the camera)."""
    score: float
    """Detector confidence in [0, 1]."""
    track_id: int = -1
    """Stable across the frames of one stream while the face stays in view; -1 for stills."""
    held: bool = False
    """Not found in this frame: held where its track was heading (a frame too dark or blurred for
    the face mesh), for a few frames at most, so the swap does not flicker back to the real face."""

    @property
    def height(self) -> float:
        return float(self.landmarks[:, 1].max() - self.landmarks[:, 1].min())

    @property
    def area(self) -> float:
        return float((self.box[2] - self.box[0]) * (self.box[3] - self.box[1]))

    @property
    def mouth_open(self) -> float:
        """The gap between the inner lips, as a share of the face's height."""
        gap = self.landmarks[LOWER_LIP_INNER, :2] - self.landmarks[UPPER_LIP_INNER, :2]
        return float(np.hypot(*gap)) / max(self.height, 1.0)

    @cached_property
    def pose(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) in degrees, computed once from the landmarks."""
        from rtswap.geometry.pose import head_pose

        return head_pose(self.landmarks)


@dataclass
class SwapWork:
    """The engine's output for one frame, waiting to be composited."""

    regions: FaceRegions
    crops: torch.Tensor
    """(B, 3, S, S) RGB [0, 1] aligned target crops."""
    swapped: torch.Tensor
    """(B, 3, S, S) RGB [0, 1] the engine's faces."""
    mask: torch.Tensor
    """(B, 1, S, S) [0, 1] where the engine's faces may be used."""
    landmarks: torch.Tensor
    """(B, 478, 2) the target faces' landmarks in crop pixels."""
    track_ids: list[int]
    """The faces' track ids, in batch order."""
    poses: list[tuple[float, float]]
    """The faces' heads' (yaw, pitch) in degrees, in batch order."""
    mouths: list[float]
    """The faces' mouths' openings (:attr:`Face.mouth_open`), in batch order."""
    moved: torch.Tensor | None = None
    """(B, 3, S, S) with ``shape="source"``, what moving the target's pixels to the source's face
    outline changed in each crop (``crops`` are the moved ones); else None."""
    hands: torch.Tensor | None = None
    """(B, 1, S, S) 1 where a hand covers each crop; None if no hand is in view."""
    changes: torch.Tensor | None = None
    """(B, 3, S, S) what the composite adds to each target crop, weighted by its paste mask."""
    grain: torch.Tensor | None = None
    """(B, 1, S, S) the camera's grain to add with the changes: a standard deviation per frame
    pixel, drawn in the frame when they are pasted; None for none."""

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor this work holds (for :meth:`~rtswap.frame.Frame.record_stream`)."""
        held = [
            self.crops,
            self.swapped,
            self.mask,
            self.landmarks,
            self.moved,
            self.hands,
            self.changes,
            self.grain,
        ]
        return [t for t in held if t is not None] + self.regions.pixels


@dataclass
class Frame:
    """One video frame on its way through the pipeline."""

    index: int
    """0, 1, 2, ... in capture order (dropped frames leave gaps downstream)."""
    capture_ns: int
    """``time.monotonic_ns()`` when the frame arrived (live) or was read (offline)."""
    image: torch.Tensor
    """HxWx3 uint8 RGB on the pipeline's device; the output stage pastes into it."""
    host: np.ndarray | None = None
    """The pixels as captured, on the host, if they came from there (see :meth:`host_image`)."""
    pts: int | None = None
    """Presentation time in ``time_base`` units, from the container (None for cameras)."""
    time_base: Fraction | None = None
    detections: list[Detection] | None = None
    """Face boxes the detect stage found in this frame (it scans only part of most frames)."""
    faces: list[Face] = field(default_factory=list)
    analysed: np.ndarray | torch.Tensor | None = None
    """What the face analysis looks at (:func:`~rtswap.detect.low_light.for_analysis`): the
    frame itself, or a brightened copy of a dark one; made by the detect stage, reused by the
    track stage."""
    hands: list[np.ndarray] = field(default_factory=list)
    """(21, 2) landmarks of each hand in view, frame pixels (looked for only with occluders kept,
    on some frames; see :class:`~rtswap.detect.hands.HandWatch`)."""
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Stage name -> (start_ns, end_ns) on the monotonic clock."""
    work: SwapWork | None = None
    """The swap stage's crops and swapped faces, for the composite stage."""
    ready: torch.cuda.Event | None = None
    """CUDA event recorded after the last stage queued its work on its stream (None on CPU)."""
    device_time: dict[str, tuple[torch.cuda.Event, torch.cuda.Event]] = field(default_factory=dict)
    """On CUDA, stage name -> timing events recorded on the stage's stream around its work: the
    time the work took on the device, where the host stamps time only its launch."""

    def host_image(self) -> np.ndarray:
        """HxWx3 uint8 RGB as captured, on the host, for analysis that runs there: copied from
        the device once if the frame arrived as a device tensor."""
        if self.host is None:
            self.host = self.image.cpu().numpy()
        return self.host

    def record_stream(self, stream: torch.cuda.Stream) -> None:
        """Mark every tensor the frame holds as in use on ``stream``. A tensor belongs to the
        stream it was made on; without this, a frame dropped by a ring (or freed after the output)
        returns its memory to that stream's pool at once, and the next allocation there (the next
        captured frame) can overwrite it while work queued on ``stream`` still reads or writes it.
        With it, the caching allocator holds the memory until that work is done."""
        for tensor in [self.image, *(self.work.tensors() if self.work is not None else [])]:
            tensor.record_stream(stream)

    @property
    def time_s(self) -> float:
        """The frame's media time: its pts if it has one, else its capture time."""
        if self.pts is not None and self.time_base is not None:
            return float(self.pts * self.time_base)
        return self.capture_ns / 1e9


def now_ns() -> int:
    return time.monotonic_ns()
