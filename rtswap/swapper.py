"""``Swapper``: the Python API's entry point: an engine, a prepared source, and whole-image swaps."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from rtswap.blend.masks import Masks
from rtswap.config import SwapConfig
from rtswap.detect.analyzer import FaceAnalyzer, landmark_backend
from rtswap.detect.hands import HandFinder
from rtswap.engines import create_engine
from rtswap.engines.base import EngineSettings
from rtswap.errors import InputError
from rtswap.frame import Face
from rtswap.generate.face_swap import FaceSwap
from rtswap.identity.assignment import SourceAssignment
from rtswap.identity.store import prepare_source
from rtswap.media.image import checked_rgb
from rtswap.plugins.masks.mask_model import open_masks, source_covers
from rtswap.plugins.restorers.restorer import Restorer

log = logging.getLogger("rtswap")


class Swapper:
    """Swaps every face in RGB images for one source face.

    >>> with Swapper("face.jpg", SwapConfig(device="cpu")) as swapper:
    ...     out = swapper.swap_image(image)   # HxWx3 uint8 RGB in and out

    ``swap_image`` is not thread-safe (it owns mediapipe graphs); the pipeline uses
    :attr:`face_swap`, whose steps are.
    """

    def __init__(
        self,
        source: str | Path | np.ndarray | Sequence[str | Path | np.ndarray],
        config: SwapConfig | None = None,
        *,
        maps: Sequence[tuple[Path, str | Path]] | None = None,
        cache_root: Path | None = None,
        progress: bool = True,
    ) -> None:
        """``source``: an image array, an image or video file, or a stored identity's name; or a
        list of them, one per face (left to right as faces appear, kept per tracked face).
        ``config``: the engine and how faces are swapped (default: warp, on CUDA if present).
        ``maps``: (reference photo, source) pairs: a face that is the reference's person gets
        that source (needs the neural engines' identity model); with ``maps`` and no ``source``,
        other faces are left as they are.
        ``cache_root``: the identity cache (default: ``$RTSWAP_CACHE`` or the user cache folder)."""
        config = config or SwapConfig()
        settings = EngineSettings.of(config)
        self.landmarks = landmark_backend(config.landmarks, settings.device)
        if self.landmarks == "torch" and settings.device.type == "cpu":
            log.warning(
                "--landmarks torch on the CPU is slower than mediapipe's own (docs/speed.md); it is meant "
                "for CUDA"
            )
        self._analysis_device = settings.device  # the analyzer may be needed before face_swap exists
        swap_engine = create_engine(settings)
        restorer, masks = _plugins(config, settings)  # a missing file: one line before sources are prepared
        covers = source_covers(masks)
        sources = [source] if isinstance(source, (str, Path, np.ndarray)) else list(source)
        if not sources and not maps:  # every face would be left as it is
            raise InputError("no source face: give an image, a file or a stored identity's name (or maps)")
        matcher = None
        if maps:  # first: a missing identity model is one line before any source is prepared
            from rtswap.identity.matcher import FaceMatcher

            matcher = FaceMatcher([ref for ref, _ in maps], self.analyzer, settings.models_dir)
        identities = [
            prepare_source(
                s, swap_engine, lambda: self.analyzer, cache_root, progress, self.landmarks, covers
            )
            for s in [*sources, *(src for _, src in maps or [])]
        ]
        assignment = SourceAssignment(len(sources), matcher)
        self.face_swap = FaceSwap(
            swap_engine,
            identities,
            assignment,
            config.keep_occluders,
            self.landmarks,
            config.shape,
            restorer,
            masks,
        )

    @property
    def device(self) -> torch.device:
        return self.face_swap.device

    @cached_property
    def analyzer(self) -> FaceAnalyzer:
        """Created on first use: a source loaded from the cache needs none, and the pipeline
        has its own."""
        return FaceAnalyzer(landmarks=self.landmarks, device=self._analysis_device)

    @cached_property
    def hands(self) -> HandFinder:
        """Created on first use, as the analyzer is."""
        return HandFinder()

    def close(self) -> None:
        for owned in ("analyzer", "hands"):
            if owned in self.__dict__:
                self.__dict__[owned].close()

    def __enter__(self) -> Swapper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def swap_image(self, image: np.ndarray, max_faces: int | None = None) -> np.ndarray:
        """Swap all faces (up to ``max_faces``, largest first) in an HxWx3 uint8 RGB image."""
        return self.swap_and_report(image, max_faces)[0]

    def swap_and_report(
        self, image: np.ndarray, max_faces: int | None = None
    ) -> tuple[np.ndarray, list[Face]]:
        """Like :meth:`swap_image`, also returning the faces that were swapped."""
        image = checked_rgb(image, "image")
        faces = self.analyzer.analyze(image, max_faces)
        hands = self.hands.find(image) if faces and self.face_swap.keep_occluders else []
        with torch.inference_mode():
            frame = torch.from_numpy(image.copy()).to(self.device)
            self.face_swap.apply(frame, faces, hands)
            return frame.cpu().numpy(), faces


def _plugins(config: SwapConfig, settings: EngineSettings) -> tuple[Restorer | None, Masks]:
    """The face restorer (``--enhancer``) and the masks (``--mask``) ``config`` asks for."""
    masks = open_masks(config.masks, config.mask_regions, settings.device, config.backend, config.models_dir)
    if config.enhancer is None:
        return None, masks
    restorer = Restorer.open(
        config.enhancer,
        settings.device,
        config.backend,
        config.models_dir,
        config.enhancer_blend,
        config.enhancer_fidelity,
    )
    return restorer, masks
