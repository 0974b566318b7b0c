import numpy as np

from rtswap.capture.synthetic_heads import Motion, SyntheticClip, SyntheticHead
from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.geometry.pose import head_pose


def test_finds_four_small_faces_in_a_720p_frame(head: SyntheticHead, analyzer: FaceAnalyzer) -> None:
    # four astronauts whose faces (forehead to chin) are ~64 px tall, in a 2x2 grid of 640x360 cells
    face_px = float(np.ptp(head.landmarks[:, 1]))
    scale = 64 / face_px * head.image.shape[0] / 360
    clip = SyntheticClip(width=1280, height=720, faces=4, face_scale=scale, head=head)
    frame = clip.frame(0)
    faces = analyzer.analyze(frame)
    heights = sorted(f.height for f in faces)
    assert len(faces) == 4, heights
    assert 55 < min(heights) and max(heights) < 75
    quadrants = {(int(f.box[0] + f.box[2]) // 1280, int(f.box[1] + f.box[3]) // 720) for f in faces}
    assert quadrants == {(0, 0), (1, 0), (0, 1), (1, 1)}  # one face in each cell of the 2x2 grid


def test_no_face_in_a_blank_frame(analyzer: FaceAnalyzer) -> None:
    assert analyzer.analyze(np.full((480, 640, 3), 128, np.uint8)) == []


def test_head_pose_follows_synthetic_turns(head: SyntheticHead, analyzer: FaceAnalyzer) -> None:
    yaw = {}
    for angle in (-20, 0, 20):
        yaw[angle] = head_pose(analyzer.analyze(head.render(Motion(yaw=angle)))[0].landmarks)[0]
    assert yaw[-20] < yaw[0] - 5 < yaw[20] - 10


def test_live_scans_for_new_faces_run_off_the_frame_path_and_find_a_face_that_enters(
    head: SyntheticHead,
) -> None:
    """Live, while a face is tracked, the detector's scans for new ones run on a thread of their
    own: a second face that enters is tracked within two whole-frame scans all the same."""
    import threading
    import time

    import torch

    from rtswap.background import FramePath
    from rtswap.detect.step import Detect
    from rtswap.frame import Frame
    from rtswap.track.step import Track

    clip = SyntheticClip(width=960, height=360, faces=2, head=head)
    cpu = torch.device("cpu")
    track = Track(None, "mediapipe", cpu)
    path = FramePath()
    detect = Detect(6, lambda: track.tracking, lambda: 1, "mediapipe", cpu, hands=False, live=path)
    scanned_on: list[str] = []
    real = detect._detector.detect

    def watched(*args: object) -> object:
        scanned_on.append(threading.current_thread().name)
        return real(*args)  # type: ignore[arg-type]

    detect._detector.detect = watched  # type: ignore[method-assign,assignment]
    tracked = []
    try:
        for i in range(40):
            image = clip.frame(i).copy()
            if i < 10:
                image[:, 480:] = 128  # the second face enters at frame 10
            frame = Frame(i, time.monotonic_ns(), torch.from_numpy(image), image)
            track(detect(frame))
            path.frame_out()  # (the rest of the pipeline)
            tracked.append(len(frame.faces))
            time.sleep(1 / 30)  # frames as a camera gives them
    finally:
        detect.close()
        track.close()
    assert tracked[:10] == [1] * 10
    assert 2 in tracked[10:22] and tracked[-1] == 2, tracked
    assert scanned_on[0] == "MainThread"  # no face tracked yet: the frame path finds the first at once
    assert set(scanned_on[1:]) == {"rtswap-looks"}  # then every scan is off the frame path
