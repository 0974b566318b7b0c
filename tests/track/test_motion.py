"""A face's motion read from its pixels, closely and steadily, and no reading where something else
moves over it."""

import cv2
import numpy as np
import torch

from rtswap.detect.analyzer import FaceAnalyzer
from rtswap.track.motion import ImageMotion


def _moved(image: np.ndarray, dx: float, dy: float, rng: np.random.Generator) -> np.ndarray:
    matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    size = (image.shape[1], image.shape[0])
    moved = cv2.warpAffine(image, matrix, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    return (moved + rng.normal(0, 3, image.shape)).round().clip(0, 255).astype(np.uint8)


def test_a_face_moved_by_a_fraction_of_a_pixel_is_read_closely_and_steadily(
    astro: np.ndarray, analyzer: FaceAnalyzer
) -> None:
    """Each move read under five draws of sensor noise: within 0.08 px of it (the alignment
    over-reads a fraction of a pixel by up to 0.06 px on this 108 px face), and within 0.04 px of
    each other (their spread is what would shake a face)."""
    box = analyzer.analyze(astro)[0].box
    for dx, dy in [(0.25, 0.0), (-0.4, 0.15), (3.0, -1.5)]:
        reads = []
        for seed in range(5):
            rng, motion = np.random.default_rng(seed), ImageMotion()
            assert motion(_moved(astro, 0, 0, rng), box) is None  # nothing to compare with yet
            read = motion(_moved(astro, dx, dy, rng), box + [dx, dy, dx, dy])
            assert read is not None
            reads.append(read)
        assert np.abs(np.array(reads) - [dx, dy]).max() < 0.08
        assert np.ptp(reads, axis=0).max() < 0.04


def test_on_the_device_the_motion_reads_as_on_the_cpu(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    box, rng = analyzer.analyze(astro)[0].box, np.random.default_rng(1)
    frames = [_moved(astro, 0, 0, rng), _moved(astro, 0.3, -0.2, rng)]
    on_cpu, on_tensors = ImageMotion(), ImageMotion()
    for frame in frames:
        read_cpu, read_tensor = on_cpu(frame, box), on_tensors(torch.from_numpy(frame), box)
    assert read_cpu is not None and read_tensor is not None
    assert np.abs(read_cpu - read_tensor).max() < 0.03  # (OpenCV's area shrink rounds, torch's does not)


def test_a_hand_moving_over_the_mouth_gives_no_reading(astro: np.ndarray, analyzer: FaceAnalyzer) -> None:
    """The face keeps still while a hand slides over its lower half: the halves disagree."""
    face = analyzer.analyze(astro)[0]
    motion = ImageMotion()
    x0, y0, x1, y1 = face.box.astype(int)
    mouth_y = (y0 + y1) // 2 + (y1 - y0) // 5
    for k in range(3):
        frame = astro.copy()
        hand_x = x0 + 10 + 8 * k
        cv2.rectangle(frame, (hand_x, mouth_y), (hand_x + (x1 - x0) // 2, y1), (150, 90, 70), -1)
        read = motion(frame, face.box)
    assert read is None
