"""The server's jitter buffer hands a video frame on when its last packet is in."""

from __future__ import annotations

import pytest

pytest.importorskip("aiortc")
from aiortc.rtp import RtpPacket  # noqa: E402

from rtswap.serve.jitter import MarkerJitterBuffer  # noqa: E402


def _packet(sequence: int, timestamp: int, last: bool) -> RtpPacket:
    packet = RtpPacket(payload_type=96, marker=int(last), sequence_number=sequence, timestamp=timestamp)
    packet._data = bytes([sequence])  # type: ignore[attr-defined]  # as aiortc's depayloader sets it
    return packet


def test_a_frame_is_handed_on_with_its_last_packet_not_the_next_frames_first() -> None:
    buffer = MarkerJitterBuffer(capacity=128, is_video=True)
    assert buffer.add(_packet(10, 3000, False))[1] is None
    assert buffer.add(_packet(12, 3000, True))[1] is None  # the last packet, with one before it missing
    frame = buffer.add(_packet(11, 3000, False))[1]  # the missing one arrives (a retransmission)
    assert frame is not None and frame.data == bytes([10, 11, 12]) and frame.timestamp == 3000
    assert buffer.add(_packet(13, 6000, False))[1] is None  # the next frame starts: nothing more to hand on
    frame = buffer.add(_packet(14, 6000, True))[1]
    assert frame is not None and frame.data == bytes([13, 14]) and frame.timestamp == 6000


def test_audio_is_left_as_it_was() -> None:
    buffer = MarkerJitterBuffer(capacity=16, prefetch=4)
    assert all(buffer.add(_packet(n, 160 * n, True))[1] is None for n in range(4))
