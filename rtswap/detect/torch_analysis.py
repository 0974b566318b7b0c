"""Face detection and the 478-point mesh on any torch device (``--landmarks torch``), with the
interfaces of the mediapipe graphs (:mod:`rtswap.detect.mediapipe_graphs`).

A scan's regions go through the detector in one batch, and all the faces of a frame through the
mesh in one batch. A face followed from frame to frame is placed from its previous landmarks, as
mediapipe's following graph places it; a new face is placed from its box, then once more from the
landmarks found there.
"""

from __future__ import annotations

import numpy as np
import torch

from rtswap.detect.base import Pixels, Region, merged, scan_regions
from rtswap.detect.blazeface import BlazeFace
from rtswap.detect.face_mesh_torch import INPUT_PX, FaceMeshNet, crops, to_image
from rtswap.detect.face_mesh_torch import Region as MeshRegion
from rtswap.frame import Detection
from rtswap.runtime.cuda_graph import CudaGraphed

_MIN_PRESENCE = 0.5
"""Below this face-presence score the mesh has lost the face (mediapipe's tracking threshold)."""
_BOX_TO_REGION = 1.5
"""A detected box grown this much is where a new face's mesh is first looked for."""


class TorchFaceDetector:
    """Face boxes in HxWx3 uint8 RGB images: the whole image and overlapping tiles, in one batch."""

    def __init__(self, device: torch.device, min_score: float = 0.5) -> None:
        self.device = device
        self._network = BlazeFace(min_score).to(device).eval()
        # Run once here, as mediapipe's graphs are: on CUDA the first run loads every kernel and
        # the first convolution cuDNN, seconds that a live frame would otherwise wait for.
        self.detect(torch.zeros(256, 256, 3, dtype=torch.uint8, device=device))

    def close(self) -> None:
        """Nothing to release."""

    def regions(self, image: Pixels) -> list[Region]:
        return scan_regions(image.shape[1], image.shape[0])

    def detect(self, image: Pixels, regions: list[Region] | None = None) -> list[Detection]:
        regions = self.regions(image) if regions is None else regions
        frame = _on(image, self.device)
        with torch.inference_mode():
            found = self._network([frame[y0:y1, x0:x1] for x0, y0, x1, y1 in regions])
        detections = [
            Detection(box=face[:4].astype(np.float64) + [x0, y0, x0, y0], score=float(face[4]))
            for (x0, y0, _, _), faces in zip(regions, found, strict=True)
            for face in faces
        ]
        return merged(detections)


class TorchFaceMesh:
    """478 landmarks of the faces in given boxes, all in one batch."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._network = CudaGraphed(FaceMeshNet().to(device).eval())  # on CUDA: one launch a batch
        self._previous: dict[int, np.ndarray] = {}
        self._run(  # once here, as the detector (and mediapipe's graphs) are
            torch.zeros(INPUT_PX, INPUT_PX, 3, dtype=torch.uint8, device=device),
            [MeshRegion((INPUT_PX / 2, INPUT_PX / 2), INPUT_PX, 0.0)],
        )

    def close(self) -> None:
        """Nothing to release."""

    def forget(self, key: int) -> None:
        self._previous.pop(key, None)

    def landmarks(self, image: Pixels, box: np.ndarray, key: int | None = None) -> np.ndarray | None:
        return self.landmarks_many(image, [(box, key)])[0]

    def landmarks_many(
        self, image: Pixels, faces: list[tuple[np.ndarray, int | None]]
    ) -> list[np.ndarray | None]:
        """(478, 3) float32 landmarks of each (box, key) face in frame pixels, or None where no
        face is found; a key names a face followed from the previous call with that key."""
        if not faces:
            return []
        frame = _on(image, self.device)
        followed = [key is not None and key in self._previous for _, key in faces]
        regions = [
            MeshRegion.around(self._previous[key]) if known and key is not None else _region_of(box)
            for (box, key), known in zip(faces, followed, strict=True)
        ]
        points, presence = self._run(frame, regions)
        new = [k for k, known in enumerate(followed) if not known and presence[k] >= _MIN_PRESENCE]
        if new:  # a box is only roughly where the mesh wants the face: place it again from its landmarks
            again = [MeshRegion.around(points[k]) for k in new]
            points_again, presence_again = self._run(frame, again)
            for k, p, s in zip(new, points_again, presence_again, strict=True):
                points[k], presence[k] = p, s
        results: list[np.ndarray | None] = []
        for (_, key), landmarks, score in zip(faces, points, presence, strict=True):
            found = landmarks if score >= _MIN_PRESENCE else None
            if key is not None:
                if found is None:
                    self.forget(key)
                else:
                    self._previous[key] = found
            results.append(found)
        return results

    def _run(self, frame: torch.Tensor, regions: list[MeshRegion]) -> tuple[list[np.ndarray], list[float]]:
        with torch.inference_mode():
            points, presence = self._network(crops(frame, regions))
            back = torch.cat([points.flatten(1), presence[:, None]], dim=1).cpu().numpy()  # one copy
        in_frame = [to_image(p[:-1].reshape(-1, 3), region) for p, region in zip(back, regions, strict=True)]
        return in_frame, back[:, -1].tolist()


def _on(image: Pixels, device: torch.device) -> torch.Tensor:
    """The image as a tensor on ``device`` (no copy if it is there already)."""
    return (torch.from_numpy(image) if isinstance(image, np.ndarray) else image).to(device)


def _region_of(box: np.ndarray) -> MeshRegion:
    centre = (box[:2] + box[2:]) / 2
    return MeshRegion(
        (float(centre[0]), float(centre[1])), float(max(box[2:] - box[:2])) * _BOX_TO_REGION, 0.0
    )
