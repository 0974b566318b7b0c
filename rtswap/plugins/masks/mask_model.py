"""Mask models on the target faces' aligned crops: what of each face is visible (an occluder
model) or is to be swapped (a face parser), as a (B, 1, S, S) map in [0, 1] in the crops' pixels."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from rtswap.blend.face_mask import eyes_mask
from rtswap.blend.masks import MaskMap, Masks
from rtswap.blend.occluders.lenses import eyes_show, face_luma, luma
from rtswap.engines import models
from rtswap.errors import InputError
from rtswap.plugins.masks import KINDS, REGIONS, ROLE
from rtswap.plugins.runner import plugin_runner
from rtswap.runtime import plugin_backend
from rtswap.weights import cards

_SKIN, _GLASSES, _HAIR = 1, 6, 17
"""A face parser's classes: glasses and hair are never swapped on a target and are left out of a
source's texture (:data:`rtswap.plugins.masks.REGIONS` never names them), but for the eyes behind
clear glasses."""


def _behind_lenses(crops: torch.Tensor, landmarks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """(B, 1, S, S): 1 on the eyes' region (the openings, lids and the skin round them, as far as
    a lens reaches) of each face whose eyes show through what is in front of them, by the luma of
    what ``labels`` (B, 1, S, S) calls skin. Parsers label a pair of glasses whole, lenses and all
    (CelebAMask-HQ's labels, which BiSeNet learns, draw the glasses over the eyes), so a pair of
    clear glasses would keep a target's own eyes and take a source's away; dark glasses hide the
    eyes, and stay whole."""
    light = luma(crops)
    shows = eyes_show(light, landmarks, face_luma(light, landmarks, labels == _SKIN))
    return eyes_mask(landmarks, crops.shape[-1]) * shows.view(-1, 1, 1, 1)


class MaskModel:
    def __init__(
        self,
        card: cards.ModelCard,
        found: models.FileStatus,
        device: torch.device,
        backend: str,
        build: Path,
        regions: tuple[str, ...] = (),
    ) -> None:
        """``regions``: for a face parser, the regions swapped (:data:`REGIONS` names)."""
        spec = card.mask
        self.name, self.kind, self.device = card.engine, spec["kind"], device
        self.size = int(spec["size"])
        self._nhwc, self._bgr = spec["layout"] == "nhwc", spec["channels"] == "bgr"
        self._mean = torch.tensor(spec["mean"], dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(spec["std"], dtype=torch.float32, device=device).view(1, 3, 1, 1)
        swapped = [c for r in regions for c in REGIONS[r]]
        self._swapped = torch.tensor(swapped, dtype=torch.long, device=device)
        self._eyes_swapped = "eyes" in regions
        shape = (1, self.size, self.size, 3) if self._nhwc else (1, 3, self.size, self.size)
        self._runner = plugin_runner(
            card, found, device, backend, build, [spec["input"]], [torch.zeros(shape)]
        )

    def __call__(self, crops: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) in [0, 1] for (B, 3, S, S) RGB crops in [0, 1] and their (B, 478, 2)
        landmarks in crop pixels: 1 where the face is visible (occlusion) or is one of the regions
        to swap (region; the eyes behind clear glasses are the eyes, see :func:`_behind_lenses`)."""
        if self.kind == "occlusion":
            out = self._run(crops)
            visible = (out.permute(0, 3, 1, 2) if out.shape[-1] == 1 else out[:, :1]).clamp(0, 1)
            return F.interpolate(visible, size=crops.shape[-2:], mode="bilinear")
        labels = self._labels(crops)
        visible, glasses = torch.isin(labels, self._swapped).float(), labels == _GLASSES
        if self._eyes_swapped and bool(glasses.any()):
            visible = torch.maximum(visible, glasses.float() * _behind_lenses(crops, landmarks, labels))
        return visible

    def covered(self, crops: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """A face parser on a source: (B, 1, S, S), 1 where it sees glasses or hair (left out of
        what is prepared from the source; on a target they stay on top), but for the eyes behind
        clear glasses (:func:`_behind_lenses`), which are the source's own. ``landmarks``: (B, 478,
        2) in crop pixels."""
        labels = self._labels(crops)
        glasses = (labels == _GLASSES).float() * (1 - _behind_lenses(crops, landmarks, labels))
        return torch.maximum(glasses, (labels == _HAIR).float())

    def _labels(self, crops: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) class ids, at the crops' size."""
        return F.interpolate(
            self._run(crops).argmax(dim=1, keepdim=True).float(), size=crops.shape[-2:]
        ).long()

    def _run(self, crops: torch.Tensor) -> torch.Tensor:
        image = F.interpolate(crops, size=(self.size, self.size), mode="bilinear", antialias=True)
        image = ((image.flip(1) if self._bgr else image) - self._mean) / self._std
        return self._runner(image.permute(0, 2, 3, 1) if self._nhwc else image).to(self.device)


def open_masks(
    kinds: tuple[str, ...],
    regions: tuple[str, ...],
    device: torch.device,
    backend: str = "auto",
    models_dir: Path | None = None,
) -> Masks:
    """The masks ``kinds`` names, on every installed occluder model (``occlusion``) and the
    first installed face parser (``region``); one line naming the files when none is."""
    unknown = [k for k in kinds if k not in KINDS] + [r for r in regions if r not in REGIONS]
    if unknown or not kinds:
        raise InputError(
            f"--mask takes {', '.join(KINDS)}, --mask-regions {', '.join(REGIONS)}; "
            f"got {', '.join(unknown) or 'none'}"
        )
    folder = cards.models_dir(models_dir)
    opened: list[MaskMap] = []
    for kind in ("occlusion", "region"):
        if kind not in kinds:
            continue
        chosen = plugin_backend(backend, device, f"--mask {kind}")
        catalogue = [c for c in cards.all_cards() if c.role == ROLE and c.mask["kind"] == kind]
        installed = [c for c in catalogue if (folder / c.file).is_file()]
        if not installed:
            models.require_all([catalogue], folder)  # one line: the files, and how to add one
        for card in installed if kind == "occlusion" else installed[:1]:
            found = models.require(card, folder)
            opened.append(MaskModel(card, found, device, chosen, folder / "build", regions))
    return Masks("box" in kinds, "skin" in kinds, opened)


def source_covers(masks: Masks) -> list[MaskModel]:
    """The face parsers among ``masks``' models: on a source, what they see as glasses or hair is
    left out of what is prepared."""
    return [m for m in masks.models if isinstance(m, MaskModel) and m.kind == "region"]
