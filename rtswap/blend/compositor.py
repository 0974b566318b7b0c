"""``Compositor``: blends each swapped face into its target crop, as soft and grainy as the
camera's (:mod:`rtswap.blend.camera`), what covers the face staying on top
(:mod:`rtswap.blend.occluders`)."""

from __future__ import annotations

import logging

import torch

from rtswap.background import Background, FramePath
from rtswap.blend.camera import LOOK_AGAIN_AFTER, LOOK_EVERY, Look, camera_look, match_camera
from rtswap.blend.composite import composite
from rtswap.blend.face_mask import eye_openings
from rtswap.blend.light import light_ratio, relit
from rtswap.blend.mask import blur, dilate, feathered_box
from rtswap.blend.masks import Masks
from rtswap.blend.occluders.rims import rim_maps
from rtswap.blend.occluders.skin import occluders
from rtswap.blend.tracked import Eased, TrackedLooks, rows
from rtswap.device import CPU
from rtswap.frame import SwapWork

log = logging.getLogger("rtswap")

_OCCLUDERS_EVERY = 3
"""A tracked face's occluders are looked for on every this many frames..."""
_OCCLUDERS_EASE = 0.5
"""...and the map shown goes this share of the way to a refreshed one on each frame."""
_MASKS_STILL = ((5.0, 5.0, 0.03), 15)
"""...but a mask model's map (a parser's regions, an occluder model's), looked for no more often,
is kept while the head turns less than 5 degrees (yaw, pitch) and the mouth opens or shuts by less
than 3% of the face's height from where they were at the look, for up to 15 frames (the models
cost far more than the skin model; a hand that comes in is the hand model's and the skin model's
to find)."""
_MIN_SEEN = 0.2
"""A mask model that leaves less than this share of a face's landmark mask is set aside for it."""
_GLASSES_EVERY = 30
"""...and its glasses' rims on every this many (they keep their place on the face, and a look
costs more; docs/speed.md)..."""
_GLASSES_EASE = 0.2
"""...and a refreshed rims map goes this share of the way to the new one on each frame."""
_LIGHT_EVERY = 5
"""A tracked face's light (:mod:`rtswap.blend.light`) is looked at on every this many frames..."""
_LIGHT_EASE = 0.3
"""...and goes this share of the way to a refreshed look on each frame."""


class Compositor:
    """The composite of one stream's faces. Keeps what covers each tracked face between looks, so
    one compositor serves one stream, from one thread."""

    def __init__(self, keep_occluders: bool = True, masks: Masks | None = None) -> None:
        """``keep_occluders``: what covers a target face (hair, glasses frames, a hand) stays on
        top of the swap; ``masks``: what of a face is swapped (``--mask``; default: the face
        mesh's outline, the skin model's occluders on top)."""
        self.keep_occluders, self.masks = keep_occluders, masks or Masks()
        self._guarded: set[str] = set()
        """Mask models set aside for a face that they saw almost none of (said once each)."""
        self._background: Background | None = None
        self.new_stream()

    def new_stream(self, live: FramePath | None = None, device: torch.device = CPU) -> None:
        """Forget what was kept from the frames of another stream (its track ids mean nothing
        here): called when a pipeline starts. With ``live`` (a live stream's frames; the looks'
        tensors on ``device``), the looks' refreshes run off the frame path, in its slack
        (:mod:`rtswap.background`), until :meth:`end_stream`; without, every frame's output is
        the same on every run."""
        self.end_stream()
        self._background = None if live is None else Background(device, live)
        self.look_times = None if self._background is None else self._background.times
        """This stream's background looks' costs and ages (kept after it ends); None offline."""
        self._occluders: TrackedLooks[torch.Tensor] = TrackedLooks(
            _OCCLUDERS_EVERY, self._background, merge=_covered_at_once_uncovered_slowly
        )
        self._occluders_shown = Eased(_OCCLUDERS_EASE)
        self._glasses: TrackedLooks[torch.Tensor] = TrackedLooks(_GLASSES_EVERY, self._background)
        self._glasses_shown = Eased(_GLASSES_EASE)
        self._light: TrackedLooks[torch.Tensor] = TrackedLooks(_LIGHT_EVERY, self._background)
        self._light_shown = Eased(_LIGHT_EASE)
        self._camera: TrackedLooks[Look] = TrackedLooks(
            LOOK_EVERY, self._background, LOOK_AGAIN_AFTER, merge=_blur_halfway
        )
        self._visible: TrackedLooks[torch.Tensor] = TrackedLooks(
            _OCCLUDERS_EVERY, self._background, merge=_halfway, still=_MASKS_STILL
        )
        self._crops_before: dict[int, torch.Tensor] = {}
        """Each track's target crop in the frame before (a camera look compares the two)."""

    def end_stream(self) -> None:
        """End the background thread of a live stream, if there is one."""
        if self._background is not None:
            self._background.close()
            self._background = None

    def warmup(self, size: int, device: torch.device) -> None:
        """What is slow on its first call (OpenCV builds its colour tables on first use; the
        camera look's and match's operations their kernels; on CUDA the first linear solve, of
        the skin model's and the grain's least-squares fits, loads the solver library)."""
        crop = torch.zeros(1, 3, size, size, device=device)
        face = torch.ones(1, 1, size, size, device=device)
        change = composite(crop, crop, face, face)
        camera_look(crop, crop, face, [crop], [1.0], [crop])
        # a blur and grain, whatever the look found
        match_camera(change, face, [Look(1.0, 1.0, 1 / 255)], [1.0])
        for dtype in (torch.float32, torch.float64):  # the skin model's fit, the grain's
            torch.linalg.solve_ex(
                torch.eye(3, dtype=dtype, device=device)[None],
                torch.ones(1, 3, 1, dtype=dtype, device=device),
            )

    def __call__(self, work: SwapWork, blend_levels_fewer: int = 0) -> None:
        """Blend the swapped crops into their targets, what covers the faces staying on top:
        sets ``work.changes`` and ``work.grain``."""
        mask, covered = (feathered_box(work.mask) if self.masks.box else work.mask), None
        ids, size, looked_at = work.track_ids, work.crops.shape[-1], (work.crops, work.landmarks, work.mask)
        if self.masks.models:
            states = [(*pose, mouth) for pose, mouth in zip(work.poses, work.mouths, strict=True)]
            seen = self._visible(ids, size, lambda due: self._seen(work, due), states)
            mask = torch.minimum(mask, torch.stack(seen))
        if self.keep_occluders:
            rims = self._glasses(ids, size, lambda due: _rims_widened(*rows(due, *looked_at)))
            covered = torch.stack(self._glasses_shown(ids, rims))
            if self.masks.skin:
                skin = self._occluders(ids, size, lambda due: occluders(*rows(due, *looked_at)))
                covered = torch.maximum(covered, torch.stack(self._occluders_shown(ids, skin)))
            if work.hands is not None:
                covered = torch.maximum(covered, blur(dilate(work.hands, 2), 2))
            mask = mask * (1 - covered)
        before = [self._crops_before.get(t) for t in ids]
        magnified = work.regions.magnification
        looks = self._camera(ids, size, lambda due: _camera_looks(work, due, before, magnified))
        self._crops_before = {t: work.crops[k : k + 1] for k, t in enumerate(ids) if t >= 0}
        lights = self._light(ids, size, lambda due: light_ratio(*rows(due, work.crops, work.swapped, mask)))
        swapped = relit(work.swapped, torch.stack(self._light_shown(ids, lights)))  # the target's light
        eyes = eye_openings(work.landmarks, size)
        changes = composite(work.crops, swapped, mask, eyes, blend_levels_fewer)
        if covered is not None:  # on top: the blend's feather and low bands do not reach into them
            changes = changes * (1 - covered)
        # as soft and grainy as the camera, the seams with what covers the face soft too
        work.changes, work.grain = match_camera(changes, mask, looks, magnified)
        if work.moved is not None:  # (what covers the face moves with it)
            work.changes = work.changes + work.moved

    def _seen(self, work: SwapWork, due: list[int]) -> torch.Tensor:
        """The mask models' minimum over the faces at positions ``due``; a model that sees almost
        none of a face's landmark mask is set aside for it (occluder models can take a whole
        profile for an occlusion, and the swap would vanish)."""
        crops, landmarks, mask = rows(due, work.crops, work.landmarks, work.mask)
        seen = torch.ones_like(mask)
        for model in self.masks.models:
            visible = blur(model(crops, landmarks), max(1, crops.shape[-1] // 128))  # no hard class edges
            kept = (visible * mask).flatten(1).sum(1) >= _MIN_SEEN * mask.flatten(1).sum(1)
            if not bool(kept.all()) and model.name not in self._guarded:
                self._guarded.add(model.name)
                log.info("%s sees almost none of a face: that face keeps its landmark mask", model.name)
            seen = torch.minimum(seen, torch.where(kept.view(-1, 1, 1, 1), visible, torch.ones_like(visible)))
        return seen


def _halfway(kept: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """A refreshed mask model's map goes halfway to the new one at each look: a class that flips
    on a few pixels does not flicker."""
    return (kept + new) / 2


def _covered_at_once_uncovered_slowly(kept: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
    """A refreshed map of what covers a face: what a look finds covered is kept whole (a hand,
    glasses stay on top), what it no longer finds fades over looks, half at each: a map switched
    whole showed as a jump along its edges on a still face. The map shown eases to the kept one,
    half of the way each frame (:data:`_OCCLUDERS_EASE`): covered at once, the sensor noise's
    flicker along the edges of what the skin model finds made every third frame of a drifting
    face jump (Grace Hopper's photo drifting 0.25 px a frame: 1.3-1.5x the steady change on those
    frames)."""
    return torch.maximum(new, kept * 0.5)


def _blur_halfway(kept: Look, new: Look) -> Look:
    """A refreshed camera look: the blur goes halfway to the new one at each look (a blur switched
    at once is a jump; a camera's focus changes slowly), the grain is the new one (fresh noise
    every frame: a new level is no jump)."""
    return Look((kept.blur_x + new.blur_x) / 2, (kept.blur_y + new.blur_y) / 2, new.grain)


def _rims_widened(crops: torch.Tensor, landmarks: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
    """Glasses' rims in the target crops, widened by a pixel per 128 of the crop: between looks, a
    talking mouth moves the alignment a little."""
    return rim_maps(crops, landmarks, widen=max(1, crops.shape[-1] // 128))


def _camera_looks(
    work: SwapWork, due: list[int], before: list[torch.Tensor | None], magnified: list[float]
) -> list[Look]:
    """:func:`camera_look` of the faces at positions ``due``, each with its box in the frame, its
    crop in the frame before and how many times its crop magnifies it (``before``, ``magnified``:
    every face's, in batch order; None for a new face).

    A new tracked face gets no grain until its next look: without the frames' change to cap it,
    the grain read includes the face's own fine texture, and fresh grain that strong made a new
    face boil for its first frames (1.4-1.8x the steady frame-to-frame change on Grace Hopper's
    photo). A still, which has no frame before ever, keeps the grain read."""
    crops, swapped, mask = rows(due, work.crops, work.swapped, work.mask)
    frames = [work.regions.in_frame(k) for k in due]
    looks = camera_look(crops, swapped, mask, frames, [magnified[k] for k in due], [before[k] for k in due])
    return [
        look._replace(grain=0.0) if before[k] is None and work.track_ids[k] >= 0 else look
        for k, look in zip(due, looks, strict=True)
    ]
