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
