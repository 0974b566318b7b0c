"""Who is who: faces matched to reference photos by their ArcFace embeddings (``--map REF=SRC``)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines import models
from rtswap.engines.arcface import TEMPLATE, ArcFace
from rtswap.errors import InputError, NoFaceError
from rtswap.frame import Face
from rtswap.geometry.crops import FaceRegions
from rtswap.media.image import read_image
from rtswap.weights import cards

SAME_PERSON = 0.3
"""Cosine similarity of two w600k_r50 embeddings above which they are taken for one person."""


class FaceMatcher:
    """Compares faces with reference photos using the neural engines' identity model
    (``w600k_r50.onnx`` in the models folder). Without it, one line says how to add it."""

    def __init__(
        self, references: list[Path], analyzer: FaceAnalyzer, models_dir: Path | None = None
    ) -> None:
        card = next(c for c in cards.all_cards() if c.file == "w600k_r50.onnx")
        folder = cards.models_dir(models_dir)
        if not (folder / card.file).is_file():
            raise InputError(
                f"--map compares faces by their ArcFace embeddings and needs the identity model "
                f"{card.file}, not found in {folder}: get it and run: rtswap engines add /path/to/{card.file}"
            )
        self._arcface = ArcFace(models.require(card, folder).path)
        embeddings = []
        for path in references:
            image = read_image(path)
            faces = analyzer.analyze(image, max_faces=1)
            if not faces:
                raise NoFaceError(f"{path}: no face found in the reference photo")
            embeddings.append(self._embed(torch.from_numpy(image), faces[0]))
        self._references = torch.stack(embeddings)

    def match(self, frame: torch.Tensor, face: Face) -> int | None:
        """The reference ``face`` (in ``frame``, (H, W, 3) uint8) is the same person as, or None."""
        similarity = self._references @ self._embed(frame, face)
        best = int(similarity.argmax())
        return best if float(similarity[best]) > SAME_PERSON else None

    def _embed(self, frame: torch.Tensor, face: Face) -> torch.Tensor:
        crop = FaceRegions(frame.cpu(), [TEMPLATE.matrix(face.landmarks)], TEMPLATE.size).crop()
        return F.normalize(self._arcface.embed(crop, TEMPLATE)[0], dim=0)
