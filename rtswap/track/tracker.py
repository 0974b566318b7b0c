"""Following faces from frame to frame: landmarks seeded by the previous frame, stable ids, smoothing.

The detector is slow (whole frame plus tiles); the face mesh on one face's crop is fast. So the
detector runs only every few frames, and in between each tracked face's landmarks are found in a
box predicted from its previous box and speed. When the mesh finds no face there, or finds one
that is not where the track was heading (it jumped to a neighbour), the face is held where it was
heading for up to ``HOLD_FRAMES`` frames (a dark or blurred frame, a hand passing); the track
ends if it is not found again by then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rtswap.detect.base import Mesh, Pixels, face_from_landmarks, iou
from rtswap.frame import Detection, Face
from rtswap.track.motion import ImageMotion
from rtswap.track.smooth import LandmarkSmoother

_SAME_FACE_IOU = 0.5
"""Two tracks whose landmark boxes overlap this much are on the same face: the younger one ends."""
_FOLLOW_MIN_IOU = 0.3
"""A followed face must overlap its predicted box this much, or it is not found."""
_STILL = 0.03
"""A face whose predicted box is within this fraction of its side of the last crop's, moved on by
its drift, is looked for there."""
_DRIFT_WEIGHT = 0.2
"""A frame's motion's weight in a face's steady drift (an average over about 5 frames)."""
_SETTLE_RUNS = 6
"""A new face's landmarks are the mean of this many runs of the mesh on its first frame."""
HOLD_FRAMES = 5
"""A face not found is held for up to this many frames (170 ms at 30 fps) before its track ends."""


@dataclass
class _Track:
    id: int
    face: Face
    """The latest unsmoothed face: its box seeds the next frame's landmarks."""
    velocity: np.ndarray
    """(2,) box-centre motion in pixels per frame."""
    smoother: LandmarkSmoother
    crop_box: np.ndarray
    """Where the mesh looked for the face: moved on by ``drift`` while the face stays within
    ``_STILL`` of it."""
    drift: np.ndarray
    """(2,) the face's steady motion in pixels per frame: its landmarks' mean motion, averaged
    over frames (``_DRIFT_WEIGHT``)."""
    motion: ImageMotion
    """Reads how far the face's pixels moved from one frame to the next."""
    moved: np.ndarray | None = None
    """(2,) how far the face's pixels moved into this frame, or None (no clear reading)."""
    missed: int = 0
    """Frames in a row the face was not found (held where it was heading)."""


class FaceTracker:
    """Faces with stable ``track_id``s from a stream of frames. Not thread-safe.

    >>> tracker = FaceTracker(FaceMesh())
    >>> faces = tracker.update(image, time_s, detector.detect(image))  # on detection frames
    >>> faces = tracker.update(next_image, next_time_s)                # in between
    """

    def __init__(self, mesh: Mesh, max_faces: int | None = None) -> None:
        self.mesh, self.max_faces = mesh, max_faces
        self._tracks: list[_Track] = []
        self._next_id = 0

    def __len__(self) -> int:
        return len(self._tracks)

    def update(self, image: Pixels, time_s: float, detections: list[Detection] | None = None) -> list[Face]:
        """Follow the tracked faces into ``image`` (HxWx3 uint8 RGB), start tracks for detected
        faces not yet tracked, and return every tracked face, smoothed, largest first."""
        self._follow(image)
        if detections:
            self._start(image, detections)
        faces = [self._smoothed(track, time_s) for track in self._tracks]
        return sorted(faces, key=lambda f: f.area, reverse=True)

    def _follow(self, image: Pixels) -> None:
        """Every tracked face's landmarks, all in one call to the mesh."""
        predicted = [_crop_box(track) for track in self._tracks]
        found = self.mesh.landmarks_many(
            image, [(box, t.id) for box, t in zip(predicted, self._tracks, strict=True)]
        )
        kept: list[_Track] = []
        for track, box, landmarks in zip(self._tracks, predicted, found, strict=True):  # oldest first
            face = self._followed(track, box, landmarks)  # so the older track wins a shared face
            track.missed = 0 if face is not None else track.missed + 1
            if face is None and track.missed <= HOLD_FRAMES:
                face = _held(track.face, track.velocity)
            if face is None or any(iou(face.box, other.face.box) > _SAME_FACE_IOU for other in kept):
                self.mesh.forget(track.id)
                continue
            track.velocity = _centre(face.box) - _centre(track.face.box)
            place_moved = face.landmarks[:, :2].mean(axis=0) - track.face.landmarks[:, :2].mean(axis=0)
            track.drift += _DRIFT_WEIGHT * (place_moved - track.drift)
            track.moved = track.motion(image, face.box)
            track.face, track.crop_box = face, box
            kept.append(track)
        self._tracks = kept

    def _followed(self, track: _Track, predicted: np.ndarray, landmarks: np.ndarray | None) -> Face | None:
        if landmarks is None:
            return None
        face = face_from_landmarks(landmarks, track.face.score, track.id)
        return face if iou(face.box, predicted) >= _FOLLOW_MIN_IOU else None

    def _start(self, image: Pixels, detections: list[Detection]) -> None:
        for det in sorted(detections, key=lambda d: _area(d.box), reverse=True):
            if self.max_faces is not None and len(self._tracks) >= self.max_faces:
                return
            if any(_contains(track.face.box, _centre(det.box)) for track in self._tracks):
                continue
            landmarks = self._first_landmarks(image, det.box, self._next_id)
            if landmarks is None:
                self.mesh.forget(self._next_id)
                continue
            face = face_from_landmarks(landmarks, det.score, self._next_id)
            if any(iou(face.box, t.face.box) > _SAME_FACE_IOU for t in self._tracks):
                self.mesh.forget(self._next_id)
                continue
            track = _Track(
                self._next_id, face, np.zeros(2), LandmarkSmoother(), face.box, np.zeros(2), ImageMotion()
            )
            track.motion(image, face.box)  # its first patch: a motion from the next frame on
            self._tracks.append(track)
            self._next_id += 1

    def _first_landmarks(self, image: Pixels, box: np.ndarray, key: int) -> np.ndarray | None:
        """A new face's landmarks: found in the detector's box, then ``_SETTLE_RUNS`` times more,
        each time in the box of the last, and those runs averaged (as many as found it). The
        mesh's crop settles on the face, and the smoothing starts from where the face's landmarks
        sit on average rather than from one run's jitter, which it would otherwise drift away from
        over the first frames (a crawl)."""
        landmarks = self.mesh.landmarks(image, box, key)
        if landmarks is None:
            return None
        runs = [landmarks]
        while len(runs) <= _SETTLE_RUNS:
            again = self.mesh.landmarks(image, face_from_landmarks(runs[-1], 0).box, key)
            if again is None:  # (a face mostly covered can be lost in a box of its own landmarks)
                break
            runs.append(again)
        return np.mean(runs[1:] or runs, axis=0).astype(np.float32)

    def _smoothed(self, track: _Track, time_s: float) -> Face:
        face = track.face
        landmarks = track.smoother(face.landmarks, time_s, scale=max(face.height, 1.0), moved=track.moved)
        smoothed = face_from_landmarks(landmarks.astype(np.float32), face.score, track.id)
        smoothed.held = track.missed > 0
        return smoothed


def _crop_box(track: _Track) -> np.ndarray:
    """Where to look for the track's face next: its box moved on by its velocity, or, when that is
    within ``_STILL`` of it, the box the mesh looked in last moved on by the face's steady drift. A
    face that keeps still is looked for in the same crop (sensor noise does not move the crop, and
    the crop the landmarks), and one drifting slowly in a crop that drifts with it (a crop kept
    still, then jumping to catch up, moved the landmarks a little at each jump)."""
    predicted = track.face.box + np.tile(track.velocity, 2)
    side = max(track.face.box[2] - track.face.box[0], track.face.box[3] - track.face.box[1])
    drifted = track.crop_box + np.tile(track.drift, 2)
    return drifted if np.abs(predicted - drifted).max() <= _STILL * side else predicted


def _held(face: Face, velocity: np.ndarray) -> Face:
    """``face`` moved on by ``velocity`` (pixels per frame): where it was heading."""
    landmarks = face.landmarks.copy()
    landmarks[:, :2] += velocity
    return face_from_landmarks(landmarks, face.score, face.track_id)


def _centre(box: np.ndarray) -> np.ndarray:
    return (box[:2] + box[2:]) / 2


def _area(box: np.ndarray) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def _contains(box: np.ndarray, point: np.ndarray) -> bool:
    return bool(box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3])
