"""Source views: every usable face in the source images and videos, aligned, posed, rated."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
import torch
from tqdm import tqdm

from rtswap.blend.occluders.lenses import eyes_show, face_luma, luma
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.engines.base import AlignedView, Identity, SwapEngine
from rtswap.errors import NoFaceError
from rtswap.geometry.align import Template, apply_affine, depth_in_crop
from rtswap.geometry.crops import FaceRegions
from rtswap.media.image import is_image_path, read_image
from rtswap.media.video import VideoReader

log = logging.getLogger("rtswap")

MAX_VIDEO_FRAMES = 300
"""A source video is sampled evenly down to this many frames."""
MIN_SEPARATION_DEG = 2.0
"""A view whose (yaw, pitch) is this close to a better one adds nothing."""
BLUR_FRACTION = 0.5
"""Views less sharp than this fraction of the median are dropped."""
MAX_ENLARGED = 3.0
"""A source face enlarged more than this into the engine's crop has much less detail than the
crop shows: the swap comes out soft (and glasses' rims are hard to find), so the user is told.
(The astronaut's 512 px photo is enlarged 2.0x into ``warp``'s 256 px crop and looks sharp.)"""


def frames_of(path: Path) -> Iterator[np.ndarray]:
    """An image's pixels, or a video's frames sampled down to :data:`MAX_VIDEO_FRAMES`."""
    if is_image_path(path):
        yield read_image(path)
        return
    with VideoReader(path) as reader:
        step = max(1, math.ceil((reader.info.frames or 1) / MAX_VIDEO_FRAMES))
        for i, decoded in enumerate(reader):
            if i % step == 0:
                assert isinstance(decoded.image, np.ndarray)  # files decode on the host
                yield decoded.image


def view_of(
    image: np.ndarray, analyzer: FaceAnalyzer, template: Template, device: torch.device, name: str = ""
) -> AlignedView | None:
    """The largest face of ``image`` aligned to ``template``, or None if it has no face. With a
    ``name`` (a still image), a note says when there were several faces."""
    faces = analyzer.analyze(image)
    if not faces:
        return None
    if name and len(faces) > 1:
        log.warning("%s: %d faces found in the source; using the largest", name, len(faces))
    face = faces[0]
    matrix = template.matrix(face.landmarks)
    crop = FaceRegions(torch.from_numpy(image).to(device), [matrix], template.size).crop()
    grey = cv2.cvtColor((crop[0].permute(1, 2, 0).cpu().numpy() * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    sharpness = float(cv2.Laplacian(grey, cv2.CV_64F).var())
    landmarks = apply_affine(matrix, face.landmarks)
    return AlignedView(crop, landmarks, face, sharpness, depth_in_crop(matrix, face.landmarks))


def _say_if_small(views: list[AlignedView], name: str) -> None:
    """Warn, once for ``name``, when even its largest face is enlarged more than
    :data:`MAX_ENLARGED` times into the engine's crop."""
    enlarged, view = min((_enlarged(v), i) for i, v in enumerate(views))
    if enlarged > MAX_ENLARGED:
        face = views[view].face
        needed = math.ceil(face.height * enlarged / MAX_ENLARGED)
        log.warning(
            "%s: the face is %d px tall, enlarged %.1fx for the engine: the swap will be soft "
            "(a source where it is at least %d px tall gives a sharp one)",
            name,
            round(face.height),
            enlarged,
            needed,
        )


def _say_if_eyes_hidden(views: list[AlignedView], name: str) -> None:
    """Warn, once for ``name``, when its face's eyes do not show in any view (dark glasses): the
    swap cannot take them from it."""
    if not any(map(_eyes_show, views)):
        log.warning(
            "%s: the eyes do not show (dark glasses?), so the swap cannot take them from this "
            "source; one with the eyes in view gives them",
            name,
        )


def _eyes_show(view: AlignedView) -> bool:
    points = torch.as_tensor(view.landmarks[None, :, :2], dtype=torch.float32, device=view.crop.device)
    light = luma(view.crop)
    return bool(eyes_show(light, points, face_luma(light, points))[0])


def _enlarged(view: AlignedView) -> float:
    """How many times the view's face is enlarged from its source image into the crop."""
    in_crop = float(view.landmarks[:, 1].max() - view.landmarks[:, 1].min())
    return in_crop / max(view.face.height, 1.0)


def select(views: list[AlignedView]) -> list[AlignedView]:
    """Drop blurry views, then keep the sharpest of any that are within a few degrees of pose."""
    if len(views) <= 1:
        return views
    threshold = BLUR_FRACTION * float(np.median([v.sharpness for v in views]))
    kept: list[AlignedView] = []
    for view in sorted(views, key=lambda v: v.sharpness, reverse=True):
        if view.sharpness < threshold:
            break
        yaw, pitch = view.face.pose[:2]
        if all(math.hypot(yaw - k.face.pose[0], pitch - k.face.pose[1]) > MIN_SEPARATION_DEG for k in kept):
            kept.append(view)
    return kept


def collect(
    sources: list[Path], analyzer: FaceAnalyzer, engine: SwapEngine[Any], progress: bool = True
) -> list[AlignedView]:
    """The usable views of the source images/videos, aligned for ``engine``: blurry frames and
    near-duplicate poses dropped."""
    views: list[AlignedView] = []
    for path in sources:
        still = is_image_path(path)
        if not still:
            VideoReader(path).close()  # not a video: say so now, before any progress output
        frames = frames_of(path)
        if not still:
            frames = tqdm(
                frames, desc=f"preparing {path.name}", unit="frame", disable=not progress, leave=False
            )
        name = str(path) if still else ""
        found = [
            v
            for v in (view_of(image, analyzer, engine.template, engine.device, name) for image in frames)
            if v is not None
        ]
        if not found:
            raise NoFaceError(f"{path}: no face found in the source")
        _say_if_small(found, str(path))
        _say_if_eyes_hidden(found, str(path))
        views.extend(found)
    chosen = select(views)
    if len(views) > 1:
        log.info("source: %d views kept of %d frames with a face", len(chosen), len(views))
    return chosen


def prepare_image(
    image: np.ndarray, analyzer: FaceAnalyzer, engine: SwapEngine[Any], covers: Sequence[Cover] = ()
) -> Identity:
    """An identity from the largest face of one HxWx3 uint8 RGB image, not cached."""
    view = view_of(image, analyzer, engine.template, engine.device, "source image")
    if view is None:
        raise NoFaceError("source image: no face found in the source")
    _say_if_small([view], "source image")
    _say_if_eyes_hidden([view], "source image")
    return engine.load(engine.prepare(marked([view], covers)))


class Cover(Protocol):
    """A face parser on the source side: what of a face is not its own (glasses, hair)."""

    name: str

    def covered(self, crops: torch.Tensor, landmarks: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) in [0, 1] for (B, 3, S, S) RGB crops in [0, 1] and their (B, 478, 2)
        landmarks in crop pixels."""
        ...


def marked(chosen: list[AlignedView], covers: Sequence[Cover]) -> list[AlignedView]:
    """``chosen`` with what ``covers`` find on each view (the most any of them finds)."""
    if not covers:
        return chosen
    marks = [
        torch.as_tensor(v.landmarks[None, :, :2], dtype=torch.float32, device=v.crop.device) for v in chosen
    ]
    return [
        replace(v, covered=torch.stack([cover.covered(v.crop, m) for cover in covers]).amax(dim=0))
        for v, m in zip(chosen, marks, strict=True)
    ]
