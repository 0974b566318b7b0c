"""A video frame handed to the decoder when its last packet is in, not a frame interval later.

aiortc's jitter buffer knows a video frame is complete only when the first packet of the *next*
frame arrives (a new RTP timestamp), so every incoming frame waited about one frame interval
before decoding: 33 ms of the round trip at 30 fps, measured by ``benchmarks/webrtc_rtt.py``. The
sender marks a frame's last packet (the RTP marker bit; RFC 3551, and WebRTC's VP8/H.264
packetisers set it); with every packet from the frame's first to that one in, the frame is whole.

aiortc builds each receiver's buffer from ``aiortc.rtcrtpreceiver.JitterBuffer``; :func:`install`
puts :class:`MarkerJitterBuffer` there. It builds on the buffer's private parts (checked with
aiortc 1.16, ``tests/serve/test_jitter.py``); where they are not there, aiortc's own buffer stays.
Audio buffers, and video frames with a packet still missing, behave as before.
"""

from __future__ import annotations

import logging

import aiortc.rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket

log = logging.getLogger("rtswap")


class MarkerJitterBuffer(JitterBuffer):
    def _remove_frame(self, sequence_number: int) -> JitterFrame | None:
        frame = super()._remove_frame(sequence_number)
        if frame is not None or not self._is_video or self._origin is None:
            return frame
        packets: list[RtpPacket] = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or (packets and packet.timestamp != packets[0].timestamp):
                return None  # a packet still missing, or a frame without its marker
            packets.append(packet)
            if packet.marker:
                self.remove(count + 1)
                return JitterFrame(b"".join(p._data for p in packets), packets[0].timestamp)  # type: ignore[attr-defined]
        return None


def install() -> None:
    """Every receiver aiortc builds from now on, in this process, uses :class:`MarkerJitterBuffer`."""
    probe = JitterBuffer(capacity=2, is_video=True)
    if not all(hasattr(probe, name) for name in ("_remove_frame", "_packets", "_origin", "_is_video")):
        log.info("aiortc's jitter buffer is not the one rtswap knows: incoming frames wait a frame interval")
        return
    aiortc.rtcrtpreceiver.JitterBuffer = MarkerJitterBuffer  # type: ignore[misc]
