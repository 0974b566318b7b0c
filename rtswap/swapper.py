"""``Swapper``: the whole swap for one image, built from the analyzer, an engine and the composite."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from rtswap.blend.composite import composite
from rtswap.blend.paste import FaceRegion
from rtswap.device import resolve_device
from rtswap.frame import Face
from rtswap.identity import views
from rtswap.identity.cache import IdentityCache
from rtswap.identity.store import IdentityStore
from rtswap.swap.warp import WarpEngine, WarpIdentity
from rtswap.vision.align import apply_affine
from rtswap.vision.detect import FaceAnalyzer

log = logging.getLogger("rtswap")

ENGINES = ("warp",)
_CROP_STEP = 64


def create_engine(name: str, device: torch.device, crop_size: int = 256) -> WarpEngine:
    if name != "warp":
        raise ValueError(f"unknown engine {name!r}; available: {', '.join(ENGINES)}")
    return WarpEngine(crop_size=crop_size, device=device)


@dataclass
class SwapWork:
    """The engine's output for one frame, waiting to be composited."""

    regions: list[FaceRegion]
    crops: torch.Tensor
    """(B, 3, S, S) RGB [0, 1] aligned target crops."""
    swapped: torch.Tensor
    """(B, 3, S, S) RGB [0, 1] the engine's faces."""
    coverage: torch.Tensor
    """(B, 1, S, S) [0, 1] where the engine produced face pixels."""
    changes: torch.Tensor | None = None
    """(B, 3, S, S) what the composite adds to each target crop, weighted by its paste mask."""


class Swapper:
    """Swaps every face in RGB images for one source face.

    >>> swapper = Swapper("face.jpg")
    >>> out = swapper.swap_image(image)   # HxWx3 uint8 RGB in and out

    ``swap_image`` is not thread-safe (it owns mediapipe graphs); ``swap``, ``composite`` and
    ``paste``, which the pipeline's stages call, are safe to call from different threads.
    """

    def __init__(
        self,
        source: str | Path | np.ndarray,
        engine: str = "warp",
        device: str = "auto",
        max_faces: int | None = None,
        crop_size: int = 256,
        cache_root: Path | None = None,
        progress: bool = True,
    ) -> None:
        """``source``: an image array, an image or video file, or a stored identity's name.
        ``cache_root``: the identity cache (default: ``$RTSWAP_CACHE`` or the user cache folder)."""
        self.cache_root, self.progress = cache_root, progress
        self.device = resolve_device(device)
        self.engine = create_engine(engine, self.device, crop_size)
        self.max_faces = max_faces
        self.identity = self.prepare_source(source)

    @cached_property
    def analyzer(self) -> FaceAnalyzer:
        """Created on first use: a source loaded from the cache needs none, and the pipeline
        has its own."""
        return FaceAnalyzer()

    def close(self) -> None:
        if "analyzer" in self.__dict__:
            self.analyzer.close()

    def __enter__(self) -> Swapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def prepare_source(self, source: str | Path | np.ndarray) -> WarpIdentity:
        """Everything the engine needs from the source, computed once: an image array is
        prepared directly; a file (image or video) or a stored identity's name goes through the
        identity cache, so a source used before loads instead of being prepared again."""
        if isinstance(source, np.ndarray):
            return views.prepare(source, self.analyzer, self.engine)
        return IdentityStore(
            IdentityCache(self.cache_root), self.engine, lambda: self.analyzer, self.progress
        ).source(source)

    def swap_image(self, image: np.ndarray) -> np.ndarray:
        """Swap all faces (up to ``max_faces``, largest first) in an HxWx3 uint8 RGB image."""
        return self.swap_and_report(image)[0]

    def swap_and_report(self, image: np.ndarray) -> tuple[np.ndarray, list[Face]]:
        """Like :meth:`swap_image`, also returning the faces that were swapped."""
        faces = self.analyzer.analyze(image, self.max_faces)
        with torch.inference_mode():
            frame = torch.from_numpy(image.copy()).to(self.device)
            self.swap_faces(frame, faces)
            return frame.cpu().numpy(), faces

    def swap_faces(self, frame: torch.Tensor, faces: list[Face]) -> None:
        """Swap ``faces`` in ``frame`` ((H, W, 3) uint8 tensor), in place, all faces in one batch."""
        work = self.swap(frame, faces)
        if work is not None:
            self.blend(frame, work)

    def swap(self, frame: torch.Tensor, faces: list[Face]) -> SwapWork | None:
        """Run the engine on the aligned crops of ``faces`` (None if no face is in the frame)."""
        full = [self.engine.matrix(f.landmarks) for f in faces]  # into the engine's full-size crop
        size = self._crop_size(full)
        # the template scales with the crop about the origin, so the alignment scales with it too
        pairs = [
            (FaceRegion(frame, m * (size / self.engine.crop_size), size), f)
            for m, f in zip(full, faces, strict=True)
        ]
        pairs = [(region, face) for region, face in pairs if not region.empty]
        if not pairs:
            return None
        crops = torch.cat([region.crop() for region, _ in pairs])
        landmarks = torch.stack(
            [
                torch.as_tensor(apply_affine(region.matrix, face.landmarks), dtype=torch.float32)
                for region, face in pairs
            ]
        ).to(self.device)
        poses = [face.pose[:2] for _, face in pairs]
        swapped, coverage = self.engine.swap(crops, landmarks, self.identity, poses)
        return SwapWork([region for region, _ in pairs], crops, swapped, coverage)

    def blend(self, frame: torch.Tensor, work: SwapWork) -> None:
        """Composite the swapped crops and paste them into ``frame`` in place."""
        self.composite(work)
        self.paste(frame, work)

    def composite(self, work: SwapWork) -> None:
        """Blend the swapped crops into their targets: sets ``work.changes``."""
        work.changes = composite(work.crops, work.swapped, work.coverage)

    def paste(self, frame: torch.Tensor, work: SwapWork) -> None:
        """Add the composited changes into ``frame`` in place, each inside its face's region."""
        assert work.changes is not None
        for region, change in zip(work.regions, work.changes, strict=True):
            region.paste(frame, change[None])

    def _crop_size(self, matrices: list[np.ndarray]) -> int:
        """The crop side for faces aligned by ``matrices`` (at the full crop size): the smallest
        multiple of 64, up to the engine's
        ``crop_size``, at which no face is enlarged. A crop larger than the face is in the frame
        holds no more detail, only more pixels to work on: four 80 px faces in 192 px crops cost
        about half of what they would in 256 px ones."""
        full = self.engine.crop_size
        if not self.engine.any_crop_size or not matrices:
            return full
        enlargement = min(float(np.hypot(*m[0, :2])) for m in matrices)
        needed = math.ceil(full / enlargement / _CROP_STEP) * _CROP_STEP
        return int(min(full, max(_CROP_STEP * 2, needed)))
