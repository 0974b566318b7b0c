"""mediapipe's CPU graphs: face detection (BlazeFace full range, tiled) and the 478-point face mesh."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from rtswap.detect.base import Pixels, Region, host, merged, quiet_stderr, scan_regions
from rtswap.frame import Detection

_MESH_CROP_PX = 256


_MESH_CROP_SCALE = 1.8
"""The landmark crop is this many times the detected box: enough margin for mediapipe's own
short-range detector inside the face mesh graph, which expects a face near the crop centre."""


class FaceDetector:
    """Face boxes in HxWx3 uint8 RGB images (BlazeFace full range on the whole image and on
    overlapping tiles). Not thread-safe: one per thread."""

    def __init__(self, min_score: float = 0.5) -> None:
        import mediapipe as mp

        from rtswap.media.samples import astronaut

        # mediapipe's C++ side logs setup notices when a graph is built and first run, straight
        # to fd 2 and regardless of log-level settings: build and run it here, fd 2 silenced.
        with quiet_stderr():
            self._graph = mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=min_score
            )
            self.detect(astronaut())

    def close(self) -> None:
        self._graph.close()

    def regions(self, image: Pixels) -> list[Region]:
        """The regions :meth:`detect` scans by default: the whole image, then overlapping tiles
        when the image is large."""
        return scan_regions(image.shape[1], image.shape[0])

    def detect(self, image: Pixels, regions: list[Region] | None = None) -> list[Detection]:
        """Face boxes found in ``regions`` (default: all of :meth:`regions`), merged by NMS."""
        image = host(image)
        found = []
        for x0, y0, x1, y1 in self.regions(image) if regions is None else regions:
            tile = np.ascontiguousarray(image[y0:y1, x0:x1])
            result = self._graph.process(tile)
            for d in result.detections or []:
                rb = d.location_data.relative_bounding_box
                tw, th = x1 - x0, y1 - y0
                box = np.array(
                    [
                        x0 + rb.xmin * tw,
                        y0 + rb.ymin * th,
                        x0 + (rb.xmin + rb.width) * tw,
                        y0 + (rb.ymin + rb.height) * th,
                    ]
                )
                found.append(Detection(box=box, score=float(d.score[0])))
        return merged(found)


class FaceMesh:
    """478 landmarks (mediapipe face mesh with iris refinement) of the face in a given box.
    Not thread-safe: one per thread.

    The mesh graph finds the face in its crop with a detector of its own before placing the
    landmarks, unless it is following a face: then the previous call's landmarks place them, which
    skips the detector (about a third of the cost). A face followed from frame to frame is named by
    a ``key`` (its track id); each key gets a following graph of its own, from a pool.
    """

    def __init__(self) -> None:
        self._graph = self._new_graph(static=True)
        self._following: dict[int, Any] = {}
        self._idle = [self._new_graph(static=False)]  # ready for the first face

    @staticmethod
    def _new_graph(static: bool) -> Any:
        """A mesh graph, run once: mediapipe's C++ side logs setup notices on the first run,
        straight to fd 2, and the first run is the slow one."""
        import mediapipe as mp

        from rtswap.media.samples import astronaut

        with quiet_stderr():
            graph = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=static, max_num_faces=1, refine_landmarks=True, min_detection_confidence=0.3
            )
            graph.process(np.ascontiguousarray(astronaut()[:_MESH_CROP_PX, 100:356]))
        _lose_face(graph)  # a following graph's first face starts from nothing, not from this one
        return graph

    def close(self) -> None:
        for graph in [self._graph, *self._following.values(), *self._idle]:
            graph.close()

    def forget(self, key: int) -> None:
        """The face followed as ``key`` is gone: its graph goes back to the pool, having lost it
        (else it would begin the next face it is given where this one was, and a face's landmarks
        would depend on which faces the pool saw before)."""
        graph = self._following.pop(key, None)
        if graph is not None:
            _lose_face(graph)
            self._idle.append(graph)

    def landmarks(self, image: Pixels, box: np.ndarray, key: int | None = None) -> np.ndarray | None:
        """(478, 3) float32 landmarks of the face in ``box`` (frame pixels), or None if none is there.

        With ``key``, the face is followed from the previous call with that key: the crop is
        centred on the box as before, so the face sits where the graph last saw it. When that
        graph loses it (or is a pooled one that last followed another face), the detector decides.
        """
        image = host(image)
        centre = (box[:2] + box[2:]) / 2
        side = max(box[2] - box[0], box[3] - box[1]) * _MESH_CROP_SCALE
        scale = _MESH_CROP_PX / side
        to_crop = np.array(
            [
                [scale, 0.0, _MESH_CROP_PX / 2 - scale * centre[0]],
                [0.0, scale, _MESH_CROP_PX / 2 - scale * centre[1]],
            ]
        )
        crop = cv2.warpAffine(image, to_crop, (_MESH_CROP_PX, _MESH_CROP_PX), flags=cv2.INTER_LINEAR)
        result = self._following_graph(key).process(crop) if key is not None else None
        if result is None or not result.multi_face_landmarks:
            result = self._graph.process(crop)
        if not result.multi_face_landmarks:
            return None
        points = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark], np.float32)
        points *= _MESH_CROP_PX
        points[:, 0] = (points[:, 0] - to_crop[0, 2]) / scale
        points[:, 1] = (points[:, 1] - to_crop[1, 2]) / scale
        points[:, 2] /= scale
        return points

    def landmarks_many(
        self, image: Pixels, faces: list[tuple[np.ndarray, int | None]]
    ) -> list[np.ndarray | None]:
        """:meth:`landmarks` of each (box, key) face, one after another."""
        image = host(image)
        return [self.landmarks(image, box, key) for box, key in faces]

    def _following_graph(self, key: int) -> Any:
        graph = self._following.get(key)
        if graph is None:
            graph = self._following[key] = self._idle.pop() if self._idle else self._new_graph(static=False)
        return graph


def _lose_face(graph: Any) -> None:
    """Make a following mesh graph lose the face it follows: shown an empty crop, it finds none,
    and its next call looks for a face afresh. (``reset`` would too, but a restarted graph logs
    its setup notices again, from its own threads, on its next call.)"""
    graph.process(np.zeros((_MESH_CROP_PX, _MESH_CROP_PX, 3), np.uint8))
