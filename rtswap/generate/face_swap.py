"""``FaceSwap``: one engine and its prepared sources, and the per-face work of a stream: the
generate step's swap (align, assign sources, crop, engine) and the compositor the composite step
runs (:class:`~rtswap.blend.compositor.Compositor`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import torch

from rtswap.background import FramePath
from rtswap.blend.compositor import Compositor
from rtswap.blend.masks import Masks
from rtswap.blend.occluders.hands import silhouettes
from rtswap.device import upload
from rtswap.engines.base import FaceBatch, Identity, ShapedIdentity, SwapEngine
from rtswap.errors import InputError
from rtswap.frame import Face, SwapWork
from rtswap.geometry.align import apply_affine, depth_in_crop, sample, scale_of
from rtswap.geometry.crops import Box, FaceRegions
from rtswap.geometry.shape import background_map, reshaped
from rtswap.identity.assignment import SourceAssignment
from rtswap.plugins.restorers.restorer import Restorer
from rtswap.runtime.inductor import BUCKETS

_CROP_STEP = 64
_CROP_KEPT = 0.03
"""A stream's crop side stays while its faces need at most this share more than it, or fit a
step smaller with no more than this to spare: a face that sits where two crop sides meet would
otherwise switch between them with its landmarks' jitter (7-8 times in 90 frames on a still
photo within 0.1% of the line), and each switch changes the swap's detail at once: the face's
change from one frame to the next 3.5-3.9x its steady level."""
SHAPES = ("target", "source")


Restore = Literal["run", "again", "off"]


@dataclass
class FaceSwap:
    """One engine and one or more prepared source identities. ``swap``, ``composite`` and
    ``paste`` are the pipeline's per-frame steps; each is safe to call from its own thread.
    Several FaceSwaps (one per WebRTC session) can share an engine. With several sources, each
    face gets one by :class:`~rtswap.identity.assignment.SourceAssignment`."""

    engine: SwapEngine[Any]
    identities: list[Identity]
    assignment: SourceAssignment | None = None
    """Default: every identity a plain source, handed out left to right."""
    keep_occluders: bool = True
    """What covers a target face (hair, glasses frames, a hand) stays on top of the swap; see
    :mod:`rtswap.blend.occluders.skin`."""
    landmarks: str = "mediapipe"
    """The face analysis that pipelines swapping with this run: ``mediapipe`` (its CPU graphs)
    or ``torch`` (the PyTorch ports, on the engine's device); see
    :func:`~rtswap.detect.analyzer.landmark_backend`."""
    shape: str = "target"
    """Whose face shape the swapped face has: the ``target``'s, or the ``source``'s, driven by the
    target's pose and expression (:mod:`rtswap.geometry.shape`; the warp engine only)."""
    restorer: Restorer | None = None
    """Run on each swapped face before the composite (``--enhancer``), or None."""
    masks: Masks | None = None
    """What of a face is swapped (``--mask``); None: the face mesh's outline, the skin model's
    occluders on top."""
    compositor: Compositor = field(init=False, repr=False)
    _restored: dict[int, torch.Tensor] = field(default_factory=dict, init=False, repr=False)
    """Each tracked face's latest change by the restorer, for the frames it is not run on."""
    _crop_side: int | None = field(default=None, init=False, repr=False)
    """The crop side the stream's tracked faces were swapped at last (before ``max_crop``)."""

    def __post_init__(self) -> None:
        self.compositor = Compositor(self.keep_occluders, self.masks)
        if self.assignment is None:
            self.assignment = SourceAssignment(len(self.identities))
        if self.shape not in SHAPES:
            raise InputError(f"--shape {self.shape}: choose one of {', '.join(SHAPES)}")
        if self.shape == "source" and self.engine.name != "warp":
            raise InputError(f"--shape source works with the warp engine only, not {self.engine.name}")
        if self.masks is not None and self.masks.box and self.engine.name == "warp":
            raise InputError(
                "--mask box needs an engine that draws the whole aligned crop (inswapper, simswap, megafs, "
                "onnx:NAME); warp draws the face only, so its outline is the mask"
            )

    def use(self, identity: Identity) -> None:
        """Swap every face for ``identity`` from the next frame on."""
        self.identities, self.assignment = [identity], SourceAssignment(1)

    def set_source(self, index: int, identity: Identity) -> None:
        """Source ``index`` (faces take sources left to right as they appear) becomes
        ``identity`` from the next frame on; ``index == len(identities)`` adds a source. Faces
        keep their sources unless one is added."""
        if not 0 <= index <= len(self.identities):
            raise InputError(f"source {index + 1}: sources are numbered 1 to {len(self.identities) + 1}")
        identities = list(self.identities)  # replaced whole: the swap thread sees one list or the other
        if index == len(identities):
            identities.append(identity)
            self.identities, self.assignment = identities, SourceAssignment(len(identities))
        else:
            identities[index] = identity
            self.identities = identities

    def new_stream(self, live: FramePath | None = None) -> None:
        """Forget what was kept from the frames of another stream (its track ids mean nothing
        here): called when a pipeline starts. ``live``: a live stream's frames; the composite's
        periodic looks run off the frame path, in its slack, until :meth:`end_stream`."""
        self.compositor.new_stream(live, self.device)
        self._restored, self._crop_side = {}, None

    def end_stream(self) -> None:
        """Called when a pipeline ends."""
        self.compositor.end_stream()

    def warmup(self) -> None:
        """Everything slow on its first call, done before the first frame: the engine's compiled
        models, and the composite (OpenCV builds its colour tables on first use)."""
        self.engine.warmup(BUCKETS)  # every batch size a frame's faces can come in
        self.compositor.warmup(self.engine.template.size, self.device)
        if self.restorer is not None:
            self.restorer.warmup()

    @property
    def device(self) -> torch.device:
        return self.engine.device

    def swap(
        self,
        frame: torch.Tensor,
        faces: list[Face],
        max_crop: int | None = None,
        reuse: SwapWork | None = None,
        hands: list[np.ndarray] | None = None,
        restore: Restore = "run",
    ) -> SwapWork | None:
        """Run the engine on the aligned crops of ``faces`` in ``frame`` ((H, W, 3) uint8 tensor),
        all in one batch (None if no face is to be swapped: none in the frame, or none that a
        ``--map`` reference asks for). ``max_crop`` caps the crop side (for
        engines whose crop size is free). With ``reuse``, an earlier frame's work on the same
        tracked faces at the same crop size, the engine does not run: its swapped faces are
        composited onto the faces' new positions (the crop is aligned, so they move with them).
        ``hands``: (21, 2) landmarks of the hands in view (:mod:`rtswap.detect.hands`), kept on
        top with the other occluders. ``restore``: with a restorer, run it on the swapped faces,
        apply what it changed last on each face again, or leave it out (the governor's level)."""
        template = self.engine.template
        full = [template.matrix(f.landmarks) for f in faces]  # into the engine's full-size crop
        size = self._crop_size(full, max_crop, tracked=all(face.track_id >= 0 for face in faces))
        # the template scales with the crop about the origin, so the alignment scales with it too
        pairs = [(m * (size / template.size), f) for m, f in zip(full, faces, strict=True)]
        pairs = [(m, f) for m, f in pairs if not Box.around_crop(m, size, *frame.shape[:2]).empty]
        assert self.assignment is not None
        sources = self.assignment.assign([face for _, face in pairs], frame)
        pairs = [pair for pair, source in zip(pairs, sources, strict=True) if source is not None]
        chosen = [source for source in sources if source is not None]
        if not pairs:
            return None
        regions = FaceRegions(frame, [m for m, _ in pairs], size)
        crops = regions.crop()
        landmarks = upload(np.stack([apply_affine(m, face.landmarks) for m, face in pairs]), self.device)
        depth = upload(np.stack([depth_in_crop(m, face.landmarks) for m, face in pairs]), self.device)
        moved = None
        if self.shape == "source":
            crops, landmarks, moved = self._reshaped(crops, landmarks, depth, chosen)
        track_ids, poses = [face.track_id for _, face in pairs], [face.pose[:2] for _, face in pairs]
        if reuse is not None and reuse.track_ids == track_ids and reuse.crops.shape == crops.shape:
            swapped, mask = reuse.swapped, reuse.mask
        else:
            swapped, mask = self._run_engine(crops, FaceBatch(landmarks, depth, poses), chosen)
            if self.restorer is not None and restore != "off":
                swapped = self._restore(swapped, landmarks, track_ids, again=restore == "again")
        covering = None
        if hands and self.keep_occluders:
            drawn = silhouettes(hands, [m for m, _ in pairs], size)
            covering = upload(drawn, self.device)[:, None]
        mouths = [face.mouth_open for _, face in pairs]
        return SwapWork(regions, crops, swapped, mask, landmarks, track_ids, poses, mouths, moved, covering)

    def _restore(
        self, swapped: torch.Tensor, landmarks: torch.Tensor, track_ids: list[int], again: bool
    ) -> torch.Tensor:
        """``swapped`` with ``--enhancer-blend`` of what the restorer changes in it; ``again``:
        what it changed last in each tracked face, where every face has it at this crop size."""
        assert self.restorer is not None
        kept = [self._restored.get(t) for t in track_ids]
        if again and all(c is not None and c.shape[-1] == swapped.shape[-1] for c in kept):
            change = torch.cat(cast(list[torch.Tensor], kept))
        else:
            change = self.restorer.change(swapped, landmarks)
            self._restored = {t: change[k : k + 1] for k, t in enumerate(track_ids) if t >= 0}
        return (swapped + self.restorer.blend * change).clamp(0, 1)

    def _reshaped(
        self, crops: torch.Tensor, landmarks: torch.Tensor, depth: torch.Tensor, sources: list[int]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each face with its source's shape: the crops with the target's pixels moved to the new
        outline, the new landmarks, and the change the move makes to the crops."""
        after, maps = [], []
        for k, source in enumerate(sources):
            target = torch.cat([landmarks[k], depth[k, :, None]], dim=1).cpu().numpy()
            identity = cast(ShapedIdentity, self.identities[source])
            after.append(upload(reshaped(target, identity.shape), crops.device))
            maps.append(background_map(landmarks[k], after[-1], crops.shape[-1]))
        moved = sample(crops, torch.stack(maps))
        return moved, torch.stack(after), moved - crops

    def _run_engine(
        self,
        crops: torch.Tensor,
        faces: FaceBatch,
        sources: list[int],
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One engine call per source, each on the batch of faces that have it."""
        if len(set(sources)) == 1:
            return self.engine.swap(crops, faces, self.identities[sources[0]])
        swapped, mask = torch.empty_like(crops), crops.new_empty(len(crops), 1, *crops.shape[2:])
        for index in sorted(set(sources)):
            rows = [k for k, source in enumerate(sources) if source == index]
            batch = FaceBatch(faces.landmarks[rows], faces.depth[rows], [faces.poses[k] for k in rows])
            swapped[rows], mask[rows] = self.engine.swap(crops[rows], batch, self.identities[index])
        return swapped, mask

    def composite(self, work: SwapWork, blend_levels_fewer: int = 0) -> None:
        """Blend the swapped crops into their targets, what covers the faces staying on top:
        sets ``work.changes``."""
        self.compositor(work, blend_levels_fewer)

    def paste(self, frame: torch.Tensor, work: SwapWork) -> None:
        """Add the composited changes into ``frame`` in place, each inside its face's region, and
        their grain (drawn the same for the same frame)."""
        assert work.changes is not None
        work.regions.paste(frame, work.changes, work.grain, torch.Generator(frame.device).manual_seed(0))

    def apply(self, frame: torch.Tensor, faces: list[Face], hands: list[np.ndarray] | None = None) -> None:
        """All three steps in the calling thread: ``frame`` changes in place."""
        work = self.swap(frame, faces, hands=hands)
        if work is not None:
            self.composite(work)
            self.paste(frame, work)

    def _crop_size(
        self, matrices: list[np.ndarray], max_crop: int | None = None, tracked: bool = False
    ) -> int:
        """The crop side for faces aligned by ``matrices`` (at the full crop size): the smallest
        multiple of 64, up to the template's size, at which no face is enlarged. A crop larger
        than the face is in the frame holds no more detail, only more pixels to work on: four
        80 px faces in 192 px crops cost about half of what they would in 256 px ones. Engines
        with a fixed input size always get their full crop. ``tracked``: the faces are a
        stream's, whose crop side changes only past :data:`_CROP_KEPT`."""
        full = self.engine.template.size
        if not self.engine.any_crop_size or not matrices:
            return full
        needed = full / min(scale_of(m) for m in matrices)
        side = int(min(full, max(_CROP_STEP * 2, math.ceil(needed / _CROP_STEP) * _CROP_STEP)))
        if tracked:
            kept = self._crop_side
            if kept is not None and _still_fits(kept, needed):
                side = kept
            self._crop_side = side
        return min(side, max_crop or full)


def _still_fits(side: int, needed: float) -> bool:
    """A stream's crop ``side`` stays for faces that need a ``needed`` px crop (see
    :data:`_CROP_KEPT`)."""
    return (side - _CROP_STEP) * (1 - _CROP_KEPT) < needed <= side * (1 + _CROP_KEPT)
