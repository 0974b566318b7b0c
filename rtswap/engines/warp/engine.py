"""The ``warp`` engine: dense face-mesh warp of the source texture onto the target geometry.

Needs no downloaded weights. The source is aligned into the crop once (``prepare``); per face and
frame the target mesh is rasterised in crop space and the source texture is looked up with one
``grid_sample``. The mesh leaves the mouth interior open, so an open target mouth keeps its own
teeth and tongue; eyes are filled with a fan around the iris centre, so gaze follows the target.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from rtswap.blend.face_mask import MOUTH, drawn_openings, mesh_mask
from rtswap.blend.mask import dilate
from rtswap.blend.occluders.lenses import luma
from rtswap.blend.occluders.rims import rim_maps
from rtswap.blend.occluders.skin import occluders
from rtswap.device import upload
from rtswap.engines.base import AlignedView, FaceBatch
from rtswap.engines.warp.appearance import AppearanceMap
from rtswap.engines.warp.fill import thin_holes_filled
from rtswap.geometry.align import Template, ffhq_template, sample
from rtswap.geometry.facing import facing, visibility
from rtswap.geometry.raster import interpolate, rasterize
from rtswap.geometry.topology import FACE_OVAL, MIRROR, TRIANGLES

_TIGHTEN = 1.3
"""The FFHQ template leaves the face a quarter of the crop; scaling it by 1.3 about the face's
centre gives the face most of the crop while leaving room for the feathered paste mask."""
_FFHQ_FACE_CENTRE = np.array([256.0, 315.0])
_MOUTH_GROWN = 1 / 256
"""A source's teeth are looked for in its mouth opening grown by this share of the crop (a pixel)..."""
_LIPS_RING = 3
"""...against its lips, this many pixels round that..."""
_TEETH_ABOVE = 0.05
"""...as what is lighter than the lips' median luma by this, wholly by twice this."""
_RASTER_STRIDE = 2
"""The mesh is rasterised at half the crop's resolution and the texture coordinates upsampled:
a quarter of the raster work, and the same pixels where the map is affine (inside triangles)."""


def warp_template(size: int) -> np.ndarray:
    """(5, 2) template for the ``warp`` crop of side ``size``."""
    scale = size / 512.0
    return (ffhq_template(512) - _FFHQ_FACE_CENTRE) * _TIGHTEN * scale + size / 2.0


@dataclass
class WarpIdentity:
    """A source prepared for the warp engine: one or more views of the face, indexed by pose."""

    textures: torch.Tensor
    """(V, 4, S, S) float [0, 1]: each view aligned into the crop, RGB premultiplied by its
    validity, and the validity: 0 where something covers the source's face on both sides (hair,
    glasses frames; see :mod:`rtswap.blend.occluders.skin`) and on its teeth (:func:`_teeth`), 1
    on its skin and features. Where the other side of the face is better (not covered, or, in a
    turned view, not turned away), its texture, mirrored, fills in; thin holes above the eyes (a
    frame's top bar) are filled from the pixels round them (:mod:`rtswap.engines.warp.fill`)."""
    landmarks: torch.Tensor
    """(V, 478, 2) float32: each view's landmarks in crop pixels."""
    depth: torch.Tensor
    """(V, 478) float32: their depth (mediapipe's z) in crop pixels."""
    poses: torch.Tensor
    """(V, 3) float32 yaw, pitch, roll in degrees of each view."""

    @cached_property
    def per_vertex(self) -> torch.Tensor:
        """(V, 478, 3): each view's crop coordinates and opacity, interpolated together. The
        opacity is 0 on the face's outline, 1 inside: beyond the outline lie the source's hairline
        and fringe, ears, and the shadow under the chin, which would otherwise be pasted onto the
        target's forehead, cheeks and chin."""
        opacity = torch.ones_like(self.landmarks[..., :1])
        opacity[:, FACE_OVAL] = 0.0
        return torch.cat([self.landmarks, opacity], dim=2)

    @cached_property
    def shape(self) -> np.ndarray:
        """(478, 3) landmarks and depth of the most frontal view: the source's face shape."""
        view = int(self.poses[:, :2].abs().sum(dim=1).argmin())
        return torch.cat([self.landmarks[view], self.depth[view, :, None]], dim=1).cpu().numpy()

    @cached_property
    def appearance(self) -> AppearanceMap:
        return AppearanceMap(self.poses[:, :2].cpu().numpy())

    @property
    def views(self) -> int:
        return len(self.poses)


class WarpEngine:
    """Implements :class:`~rtswap.engines.base.SwapEngine` with :class:`WarpIdentity`."""

    name = "warp"
    backend = "eager"
    artifact_version = 14
    """Version of what :meth:`prepare` returns; bump it when that changes."""
    any_crop_size = True
    """``swap`` works on target crops of any size up to the template's (the source's texture stays
    at that size), so small faces can be swapped in smaller crops."""

    def __init__(self, crop_size: int = 256, device: torch.device | str = "cpu") -> None:
        self.template = Template(warp_template(crop_size), crop_size)
        self.device = torch.device(device)
        self._triangles = torch.as_tensor(TRIANGLES, device=self.device)
        self._mirror = torch.as_tensor(MIRROR, device=self.device)

    def params(self) -> dict[str, object]:
        return {"crop_size": self.template.size}

    def prepare(self, views: list[AlignedView]) -> dict[str, torch.Tensor]:
        """Each view's texture and its validity (as uint8: a quarter of the size, and they came
        from 8-bit images), landmarks and their depth, and head pose."""
        crops = torch.cat([v.crop for v in views])
        landmarks = np.stack([v.landmarks[:, :2] for v in views])
        points = torch.as_tensor(landmarks, dtype=torch.float32, device=crops.device)
        covered = torch.maximum(
            occluders(crops, points, mesh_mask(points, crops.shape[-1]), source=True),
            rim_maps(crops, points, source=True),
        )
        parsed = [v.covered if v.covered is not None else torch.zeros_like(covered[:1]) for v in views]
        covered = torch.maximum(covered, torch.cat(parsed).to(covered.device))  # a parser's glasses, hair
        covered = torch.maximum(covered, _teeth(crops, landmarks).to(covered.device))
        textures = torch.cat([crops, 1 - covered], dim=1)
        return {
            "textures": (textures * 255).round().clamp(0, 255).to(torch.uint8).cpu(),
            "landmarks": torch.as_tensor(landmarks, dtype=torch.float32),
            "depth": torch.as_tensor(np.stack([v.depth for v in views]), dtype=torch.float32),
            "poses": torch.as_tensor([v.face.pose for v in views], dtype=torch.float32),
        }

    def load(self, tensors: dict[str, torch.Tensor]) -> WarpIdentity:
        landmarks = tensors["landmarks"].to(self.device, torch.float32)
        depth = tensors["depth"].to(self.device, torch.float32)
        points = torch.cat([landmarks, depth[..., None]], dim=-1)
        textures = tensors["textures"].to(self.device, torch.float32) / 255.0
        return WarpIdentity(
            textures=thin_holes_filled(self._mirror_filled(textures, points), points),
            landmarks=landmarks,
            depth=depth,
            poses=tensors["poses"].to(self.device, torch.float32),
        )

    def _mirror_filled(self, textures: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """(V, 4, S, S) RGB and validity, (V, 478, 3) landmarks and depth -> premultiplied RGB
        and validity, where the other side of the face, mirrored (through the mesh's vertex
        symmetry), fills in what is covered (a fringe or a frame on one side only) or turned away
        (the far cheek of a turned view), to the extent that it is itself valid and in view."""
        size = textures.shape[-1]
        seen = visibility(points)
        views = []
        for texture, view, view_seen in zip(textures, points, seen, strict=True):
            index, bary = rasterize(view[self._triangles, :2], size, size)
            per_vertex = torch.cat(
                [self._mirror @ torch.cat([view[:, :2], view_seen[:, None]], dim=1), view_seen[:, None]],
                dim=1,
            )
            mirror_at, mirror_seen, own_seen = interpolate(index, bary, per_vertex, self._triangles).split(
                [2, 1, 1], dim=-1
            )
            own_seen, mirror_seen = own_seen.permute(2, 0, 1), mirror_seen.permute(2, 0, 1)
            own = torch.cat([texture[:3] * texture[3:], texture[3:]])
            mirrored = sample(own[None], mirror_at[None])[0] * mirror_seen  # in view, and on the mesh
            # each side over the other (the first's gaps filled by the second), the own side first
            # unless the mirrored side is more in view
            own_first = own + mirrored * (1 - own[3:])
            mirrored_first = mirrored + own * (1 - mirrored[3:])
            prefer_own = (1 + own_seen - mirror_seen).clamp(0, 1)
            views.append(own_first * prefer_own + mirrored_first * (1 - prefer_own))
        return torch.stack(views)

    def warmup(self, batch_sizes: Sequence[int]) -> None:
        """Nothing to compile: the warp is plain tensor operations."""

    def swap(
        self, crops: torch.Tensor, faces: FaceBatch, identity: WarpIdentity
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Warp the source onto each target face.

        crops: (B, 3, S, S) aligned targets (unused by this engine beyond their size); the faces'
        landmarks and depth place the mesh, their poses (yaw, pitch) pick and weigh the source
        views (one view: always that one).
        Returns swapped (B, 3, S, S) RGB [0, 1] and coverage (B, 1, S, S) in [0, 1]: 0 off the
        mesh, in an open mouth and where the source's texture is covered (on both sides of its
        face), fading to 0 towards the face's outline. Triangles of the target mesh that face away
        from the camera (the far side of a fold, where a turn squeezes the far cheek) take no
        texture: stretched across the fold, the source there tears into jagged patches.
        """
        size, batch = crops.shape[-1], crops.shape[0]
        low = size // _RASTER_STRIDE
        scale = low / size
        front = facing(torch.cat([faces.landmarks, faces.depth[..., None]], dim=-1)) > 0
        corners = ((faces.landmarks + 0.5) * scale - 0.5)[:, self._triangles]  # (B, T, 3, 2)
        corners = torch.where(front[..., None, None], corners, -1.0)  # a point: covers nothing
        index, bary = rasterize(corners, low, low)  # all the faces in one pass
        covered = (index >= 0).to(torch.float32)[..., None]
        maps, targets, views, view_weights = [], [], [], []
        for b in range(batch):
            for view, weight in identity.appearance.weights(*faces.poses[b]):
                values = interpolate(index[b], bary[b], identity.per_vertex[view], self._triangles)
                maps.append(torch.cat([values, covered[b]], dim=-1))
                targets.append(b)
                views.append(view)
                view_weights.append(weight)
        # The map is affine inside each triangle, so bilinear upsampling is exact there (zero
        # outside the mesh); dividing by the upsampled coverage keeps the coordinates right next to
        # holes and the mesh's edge.
        up = F.interpolate(torch.stack(maps).permute(0, 3, 1, 2), size=(size, size), mode="bilinear")
        covered = up[:, 3:4]
        coords = up[:, :2] / covered.clamp(min=1e-6)
        sampled = sample(identity.textures[upload(views, up.device, torch.int64)], coords.permute(0, 2, 3, 1))
        w = upload(view_weights, up.device)[:, None, None, None]
        per_view = torch.cat([sampled, up[:, 2:3] * sampled[:, 3:], covered], dim=1) * w
        rgb, valid, coverage, hit = _per_face(per_view, targets, batch).split([3, 1, 1, 1], dim=1)
        swapped = rgb / valid.clamp(min=1e-3)  # the premultiplied views' RGB, unpremultiplied
        hit = hit > 0.5
        return swapped * hit, (coverage * hit).contiguous()


def _teeth(crops: torch.Tensor, landmarks: np.ndarray) -> torch.Tensor:
    """(V, 1, S, S): what is lighter than the lips round it in each view's mouth opening (grown by
    :data:`_MOUTH_GROWN` of the crop): its teeth. From a smiling source onto a closed mouth, the
    lips' inner edges drew them as a light line between the lips (glowing, from a darker skin onto
    a lighter one); a closed mouth's dark line is its lips' and stays."""
    size = crops.shape[-1]
    grow = round(size * _MOUTH_GROWN)
    drawn = np.stack([drawn_openings(points, size, MOUTH) for points in landmarks])
    opening = torch.from_numpy(drawn)[:, None].to(crops.device)
    grown = dilate(opening, grow)
    lips = dilate(opening, grow + _LIPS_RING) - grown > 0.5
    teeth = []
    for light, view_grown, view_lips in zip(luma(crops), grown, lips, strict=True):
        if not bool(view_lips.any()):  # (a mouth outside the crop)
            teeth.append(torch.zeros_like(view_grown))
            continue
        lighter = (light - light[view_lips].quantile(0.5) - _TEETH_ABOVE) / _TEETH_ABOVE
        teeth.append(view_grown * lighter.clamp(0, 1))
    return torch.stack(teeth)


def _per_face(values: torch.Tensor, targets: list[int], batch: int) -> torch.Tensor:
    """The views' weighted values summed per face; with one view per face, the values."""
    if targets == list(range(batch)):
        return values
    index = upload(targets, values.device, torch.int64)
    return values.new_zeros(batch, *values.shape[1:]).index_add_(0, index, values)
