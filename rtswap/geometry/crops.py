"""Moving pixels between a frame and the aligned crops of its faces, touching only the faces'
regions.

Only the frame rectangles that the crops cover are converted to float, sampled and written:
per-face cost does not grow with frame size. Two implementations of the same resampling:

- on the CPU, OpenCV's ``warpAffine`` on interleaved channels, one face at a time (several times
  faster there than building a sampling grid);
- elsewhere, tensor operations batched over the faces: the rectangle holding every face is
  converted to float once, every crop is sampled from it in one ``grid_sample``, and every change
  is sampled back in another, into boxes of one size around each face, then summed into the
  rectangle, which goes back into the frame with one conversion to uint8. Each of those is one
  kernel for all the faces; the per-face loop launched about ten per face.

Crops are sampled bilinearly. A change is pasted back bicubically when its crop magnifies the
face: a bilinear lookup averages the two crop pixels around it in a share that depends on where it
falls between them, so a face sliding a fraction of a pixel a frame was pasted sharper and softer
in turn, and its swapped skin shimmered; a cubic's lookup hardly softens wherever it falls. On the
stability benchmark's group photo drifting 0.25 px a frame, the swapped Grace Hoppers (crops
magnifying 1.17x) changed 1.10-1.13x as much as the input from frame to frame, 1.04-1.06x pasted
bicubically. (The change is filtered for the paste first: :func:`~rtswap.blend.camera.antialias`.)
A crop that shrinks the face is pasted bilinearly: its pixels are coarser than the frame's, and a
cubic's overshoot at their edges moves with the face (Grace Hopper's photo drifting, in
``tests/pipeline/test_steady.py``: 1.17x pasted bicubically, 1.15x bilinearly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from rtswap.device import upload
from rtswap.geometry.align import invert_affine, scale_of, warp_affine


@dataclass(frozen=True)
class Box:
    """A frame rectangle, ``[x0, x1) x [y0, y1)``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def around_crop(cls, matrix: np.ndarray, size: int, height: int, width: int) -> Box:
        """The part of a ``height`` x ``width`` frame that the ``size`` crop of ``matrix`` (2x3,
        frame -> crop) covers, with a pixel to spare for bilinear sampling. (A bicubic paste reaches
        two crop pixels beyond the crop, under two frame pixels for the crops pasted so, which
        magnify their faces; a change is nothing there, its face well inside its crop.)"""
        corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], np.float64)
        inverse = invert_affine(matrix)
        xs, ys = (corners @ inverse[:, :2].T + inverse[:, 2]).T
        return cls(
            max(0, math.floor(xs.min()) - 1),
            max(0, math.floor(ys.min()) - 1),
            min(width, math.ceil(xs.max()) + 2),
            min(height, math.ceil(ys.max()) + 2),
        )

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def of(self, frame: torch.Tensor) -> torch.Tensor:
        """This rectangle of an (H, W, C) frame (a view)."""
        return frame[self.y0 : self.y1, self.x0 : self.x1]


class FaceRegions:
    """The aligned crops of a frame's faces: where they are in the frame, and the moves between
    frame and crops.

    >>> regions = FaceRegions(frame, matrices, 256)
    >>> crops = regions.crop()                  # (B, 3, 256, 256)
    >>> regions.paste(frame, changes)           # changes: (B, 3, 256, 256)
    """

    def __init__(
        self, frame: torch.Tensor, matrices: list[np.ndarray], size: int, opencv: bool | None = None
    ) -> None:
        """frame: (H, W, 3) uint8 RGB tensor; matrices: 2x3 frame -> crop, one per face, whose
        boxes (:meth:`Box.around_crop`) are not empty; size: crop side. ``opencv``: resample with
        OpenCV, one face at a time (default: on the CPU)."""
        self.matrices, self.size = matrices, size
        self.magnification = [scale_of(m) for m in matrices]
        """Each face's crop pixels per frame pixel: how many times its crop magnifies it."""
        self.opencv = frame.device.type == "cpu" if opencv is None else opencv
        self.boxes = [Box.around_crop(m, size, *frame.shape[:2]) for m in matrices]
        assert not any(box.empty for box in self.boxes)
        if self.opencv:
            self.pixels = [box.of(frame).to(torch.float32) / 255.0 for box in self.boxes]
            """The faces' boxes as float [0, 1]: (h, w, 3) each, for OpenCV; else one (1, 3, h,
            w), the box around them all (:attr:`outer`)."""
        else:
            self.outer = Box(
                min(b.x0 for b in self.boxes),
                min(b.y0 for b in self.boxes),
                max(b.x1 for b in self.boxes),
                max(b.y1 for b in self.boxes),
            )
            self.pixels = [self.outer.of(frame).permute(2, 0, 1)[None].to(torch.float32) / 255.0]

    def __len__(self) -> int:
        return len(self.boxes)

    def in_frame(self, k: int) -> torch.Tensor:
        """(1, 3, h, w) float [0, 1]: face ``k``'s box as it is in the frame."""
        if self.opencv:
            return self.pixels[k].permute(2, 0, 1)[None]
        box, outer = self.boxes[k], self.outer
        return self.pixels[0][
            ..., box.y0 - outer.y0 : box.y1 - outer.y0, box.x0 - outer.x0 : box.x1 - outer.x0
        ]

    def crop(self) -> torch.Tensor:
        """(B, 3, S, S) float [0, 1] aligned crops, black outside the frame."""
        if self.opencv:
            crops = [
                _cv_warp(pixels.numpy(), _crop_to_box(m, box), self.size, self.size)
                for m, box, pixels in zip(self.matrices, self.boxes, self.pixels, strict=True)
            ]
            return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
        to_outer = np.stack([_crop_to_box(m, self.outer) for m in self.matrices])
        return warp_affine(self.pixels[0], to_outer, self.size, self.size)

    def paste(
        self,
        frame: torch.Tensor,
        changes: torch.Tensor,
        grain: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        """Add crop-space changes (B, 3, S, S), already weighted by their alphas, into ``frame``
        (H, W, 3) uint8 in place. Where the changes are zero the frame keeps its exact bytes.
        ``grain`` (B, 1, S, S): standard deviations of fresh noise to add with them, drawn per frame
        pixel (from ``generator``), the same in the three channels."""
        if grain is not None:
            changes = torch.cat([changes, grain], dim=1)
        if self.opencv:
            faces = zip(self.matrices, self.magnification, self.boxes, self.pixels, changes, strict=True)
            for m, magnified, box, pixels, change in faces:
                warped = _cv_warp(
                    change.permute(1, 2, 0).contiguous().numpy(),
                    _box_to_crop(m, box),
                    box.height,
                    box.width,
                    cv2.INTER_CUBIC if _paste_mode(magnified) == "bicubic" else cv2.INTER_LINEAR,
                )
                moved = torch.from_numpy(warped).reshape(box.height, box.width, -1)
                _write(box.of(frame), pixels + _grained(moved, generator))
            return
        # every change sampled into a box of one size around its face, inside the outer box
        height, width, outer = max(b.height for b in self.boxes), max(b.width for b in self.boxes), self.outer
        placed = [
            Box(x0, y0, x0 + width, y0 + height)
            for x0, y0 in ((min(b.x0, outer.x1 - width), min(b.y0, outer.y1 - height)) for b in self.boxes)
        ]
        to_crops = np.stack([_box_to_crop(m, box) for m, box in zip(self.matrices, placed, strict=True)])
        modes = [_paste_mode(magnified) for magnified in self.magnification]
        if len(set(modes)) == 1:
            moved = warp_affine(changes, to_crops, height, width, modes[0])
        else:  # faces their crops magnify and faces they shrink: a kernel for each way of sampling
            moved = changes.new_empty(len(changes), changes.shape[1], height, width)
            for mode in set(modes):
                rows = [k for k, each in enumerate(modes) if each == mode]
                at = upload(rows, changes.device, torch.long)  # (a list index would wait for the device)
                moved.index_copy_(
                    0, at, warp_affine(changes.index_select(0, at), to_crops[rows], height, width, mode)
                )
        moved = moved.permute(0, 2, 3, 1)  # (B, h, w, 3 or 4)
        total = self.pixels[0][0].permute(1, 2, 0).clone()  # the outer box, (H, W, 3)
        for box, change in zip(placed, moved, strict=True):
            Box(box.x0 - outer.x0, box.y0 - outer.y0, box.x1 - outer.x0, box.y1 - outer.y0).of(total).add_(
                _grained(change, generator)
            )
        _write(outer.of(frame), total)


def _paste_mode(magnification: float) -> str:
    """How a face's change is sampled into the frame: bicubically when its crop magnifies the face
    (``magnification`` > 1), else bilinearly (see the module's notes)."""
    return "bicubic" if magnification > 1 else "bilinear"


def _grained(change: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """(h, w, 3) the change, with its grain drawn if it has a fourth channel (the grain's
    standard deviation per pixel)."""
    if change.shape[-1] == 3:
        return change
    rgb, level = change.split([3, 1], dim=-1)
    noise = torch.randn(level.shape, generator=generator, device=level.device, dtype=level.dtype)
    return rgb + level * noise


def _crop_to_box(matrix: np.ndarray, box: Box) -> np.ndarray:
    """The 2x3 affine from crop pixels to the pixels of ``box``."""
    return invert_affine(matrix) - np.array([[0.0, 0.0, box.x0], [0.0, 0.0, box.y0]])


def _box_to_crop(matrix: np.ndarray, box: Box) -> np.ndarray:
    """The 2x3 affine from the pixels of ``box`` to crop pixels."""
    to_crop = matrix.copy()
    to_crop[:, 2] += matrix[:, :2] @ np.array([box.x0, box.y0])
    return to_crop


def _write(target: torch.Tensor, values: torch.Tensor) -> None:
    """Float [0, 1] (h, w, 3) values into a uint8 view of a frame."""
    target.copy_(values.clamp(0, 1).mul(255).round().to(torch.uint8))


def _cv_warp(
    image: np.ndarray, matrix: np.ndarray, height: int, width: int, interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """(height, width, C): output pixel (x, y) takes ``image`` at ``matrix @ (x, y, 1)`` (bilinearly,
    or bicubically with ``cv2.INTER_CUBIC``), zeros outside, as
    :func:`~rtswap.geometry.align.warp_affine` does."""
    flags = interpolation | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(
        image, matrix, (width, height), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )
