"""A virtual camera (pyvirtualcam: v4l2loopback on Linux, OBS on Windows and macOS) for Zoom, Meet, OBS."""

from __future__ import annotations

import glob
import sys
from typing import Any

import av
import numpy as np

from rtswap.errors import OutputError
from rtswap.frame import Frame
from rtswap.media.video import VideoInfo
from rtswap.output.base import Sink

PIXEL_FORMATS = {
    "RGB": "rgb24",
    "BGR": "bgr24",
    "I420": "yuv420p",
    "NV12": "nv12",
    "YUYV": "yuyv422",
    "UYVY": "uyvy422",
}
"""pyvirtualcam's pixel format names -> FFmpeg's (swscale does the conversion, BT.601)."""

if sys.platform == "linux":
    SETUP = (
        "install and load v4l2loopback: sudo apt install v4l2loopback-dkms && "
        "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=rtswap"
    )
else:
    SETUP = "install OBS Studio 28 or newer, click 'Start Virtual Camera' once, then stop it and close OBS"


def convert(image: np.ndarray, pixel_format: str) -> np.ndarray:
    """An HxWx3 uint8 RGB image in pyvirtualcam's ``pixel_format``, flattened as the backend takes it."""
    if pixel_format == "RGB":
        return image.reshape(-1)
    # PyAV cannot hand out uyvy422 as an array; it is yuyv422 with each byte pair swapped
    target = "yuyv422" if pixel_format == "UYVY" else PIXEL_FORMATS[pixel_format]
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    flat = frame.reformat(format=target).to_ndarray().reshape(-1)
    if pixel_format == "UYVY":
        flat = np.ascontiguousarray(flat.reshape(-1, 2)[:, ::-1]).reshape(-1)  # Y0 U Y1 V -> U Y0 V Y1
    return flat


def _pyvirtualcam() -> Any:
    try:
        import pyvirtualcam
    except ImportError:
        raise OutputError(
            "--output virtualcam needs pyvirtualcam: pip install 'rtswap[virtualcam]'"
        ) from None
    return pyvirtualcam


def check_virtual_camera() -> None:
    """Fail at once, before any work, where no virtual camera can be opened: pyvirtualcam
    missing, or on Linux no v4l2loopback device."""
    _pyvirtualcam()
    if sys.platform == "linux" and not glob.glob("/sys/devices/virtual/video4linux/video*"):
        raise OutputError(f"no virtual camera available (no v4l2loopback device); to set one up, {SETUP}")


class VirtualCameraSink(Sink):
    """Sends frames to the first virtual camera found, in the backend's own pixel format (so the
    backend does no second conversion)."""

    def __init__(self, info: VideoInfo) -> None:
        pyvirtualcam = _pyvirtualcam()
        size = (info.width, info.height, float(info.rate))
        try:
            camera = pyvirtualcam.Camera(*size)
            native = camera.native_fmt
            if native is not None and native.name in PIXEL_FORMATS and native.name != "RGB":
                camera.close()
                camera = pyvirtualcam.Camera(*size, fmt=native)
        except RuntimeError as exc:
            reason = str(exc).splitlines()[0]
            raise OutputError(f"no virtual camera available ({reason}); to set one up, {SETUP}") from None
        self._camera = camera
        self.pixel_format = camera.fmt.name
        self.device = camera.device

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self._camera.send(convert(image, self.pixel_format))

    def close(self) -> None:
        self._camera.close()
