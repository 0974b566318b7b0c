"""The PyTorch port of mediapipe's 478-point face mesh against mediapipe itself."""

from __future__ import annotations

import cv2
import mediapipe as mp
import numpy as np
import pytest
import torch

from rtswap.capture.synthetic_heads import Motion, SyntheticHead
from rtswap.detect.face_mesh_torch import FaceMeshNet, Region, crops, to_image


def _mediapipe_following(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mediapipe's landmarks on ``image`` (image pixels, depth scaled as x), found, then followed
    from themselves: the second call places its crop from the first call's landmarks."""
    height, width = image.shape[:2]
    with mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=1, refine_landmarks=True
    ) as mesh:
        found = [mesh.process(image).multi_face_landmarks[0].landmark for _ in range(2)]
    first, second = (np.array([(p.x * width, p.y * height, p.z * width) for p in f]) for f in found)
    return first, second


@pytest.fixture(scope="module")
def net() -> FaceMeshNet:
    return FaceMeshNet().eval()


def test_landmarks_match_mediapipes(
    net: FaceMeshNet, astro: np.ndarray, grace: np.ndarray, head: SyntheticHead
) -> None:
    """Mean landmark error at most 1 px at a 256 px face height (measured: ~0.03)."""
    small = cv2.resize(astro, (256, 256), interpolation=cv2.INTER_AREA)  # a 55 px face
    for name, image in {
        "frontal": astro,
        "another face": grace,
        "turned and nodding": head.render(Motion(yaw=-30, pitch=8)),
        "open mouth, blinking": head.render(Motion(yaw=15, mouth=1.0, blink=0.8)),
        "small": small,
    }.items():
        previous, theirs = _mediapipe_following(image)
        region = Region.around(previous)
        with torch.inference_mode():
            points, presence = net(crops(torch.from_numpy(image), [region]))
            ours = to_image(points[0].numpy(), region)
        error = np.linalg.norm(ours[:, :2] - theirs[:, :2], axis=1).mean() * 256 / np.ptp(theirs[:, 1])
        assert error <= 1.0, name
        assert np.abs(ours[:, 2] - theirs[:, 2]).mean() <= 0.05 * np.ptp(theirs[:, 1]), name
        assert presence.item() > 0.9, name


def test_several_faces_in_one_batch_give_what_each_gives_alone(
    net: FaceMeshNet, astro: np.ndarray, grace: np.ndarray
) -> None:
    batch = torch.cat(
        [
            crops(torch.from_numpy(image), [Region.around(_mediapipe_following(image)[0])])
            for image in (astro, grace)
        ]
    )
    with torch.inference_mode():
        together, _ = net(batch)
        alone = torch.cat([net(batch[k : k + 1])[0] for k in range(2)])
    assert torch.allclose(together, alone, atol=1e-3)


def test_a_crop_without_a_face_scores_low(net: FaceMeshNet) -> None:
    with torch.inference_mode():
        _, presence = net(torch.full((1, 3, 192, 192), 0.5))
    assert presence.item() < 0.5


class _HostIndexes(torch.overrides.TorchFunctionMode):
    """Records every index made of host data (a list, an array): on CUDA each such index is a
    copy from pageable memory, which waits for the device and breaks a CUDA graph's capture."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in (torch.Tensor.__getitem__, torch.Tensor.__setitem__):
            index = args[1] if isinstance(args[1], tuple) else (args[1],)
            if any(isinstance(i, list | np.ndarray) for i in index):
                self.found.append(func.__name__)
        return func(*args, **(kwargs or {}))


def test_the_network_indexes_with_tensors_only(net: FaceMeshNet) -> None:
    with torch.inference_mode(), _HostIndexes() as probe:
        net(torch.rand(2, 3, 192, 192))
    assert probe.found == []
