"""Where the WebRTC round trip goes: a peer in its own process against ``rtswap serve``'s sessions.

The server runs in this process as ``rtswap serve`` runs it (the aiohttp app and its sessions, the
warp engine, each session a live pipeline with its governor), with a timestamp taken wherever a
frame changes hands. The peer (``rtswap.testing.peer``) runs in its own process: it sends the
moving astronaut at 640x480, 30 fps, each frame's number drawn in its pixels, and records when it
sent and received each. Both read the host's monotonic clock, so the legs that cross the two
processes are measured too. Per frame that came back, by its number:

    peer to server      the peer's encoder, the network, the server's jitter buffer and decoder
    wait for capture    from aiortc handing the frame over to the pipeline's capture taking it
    pipeline            capture to output: the swap (what the page's server line shows)
    to the encoder      output to aiortc's sender taking the frame
    encode              VP8, on aiortc's worker thread
    send                packetising and sending
    server to peer      the network, the peer's jitter buffer and decoder

The first seconds (codecs ramping up) are not measured. ``--compare-stock-jitter-buffer`` runs
each round twice, with aiortc's own jitter buffer in the server and then with rtswap's
(``rtswap/serve/jitter.py``).

    python benchmarks/webrtc_rtt.py [--seconds 20] [--rounds 1] [--compare-stock-jitter-buffer] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiortc.jitterbuffer
import aiortc.rtcrtpreceiver
import av
import numpy as np
from aiohttp import web
from aiortc import RTCRtpSender

from rtswap.bench.runner import machine
from rtswap.config import SwapConfig
from rtswap.frame import Frame
from rtswap.media.samples import grace_hopper_path
from rtswap.output.stats import percentiles
from rtswap.serve import jitter
from rtswap.serve.app import Server
from rtswap.serve.sessions import Sessions
from rtswap.serve.tracks import SwappedTrack, TrackSink, TrackSource
from rtswap.swapper import Swapper
from rtswap.testing.peer import read_mark

TOKEN = "rtt"
LEGS = (
    "peer to server",
    "wait for capture",
    "pipeline",
    "to the encoder",
    "encode",
    "send",
    "server to peer",
)


class Stamps:
    """When each numbered frame passed each hand-over on the server (monotonic seconds)."""

    def __init__(self) -> None:
        self.at: dict[str, dict[int, float]] = {
            name: {} for name in ("arrived", "captured", "output", "to encoder", "encoded", "sent")
        }
        self._encoding: int | None = None
        """The number of the frame the sender took last (it encodes and sends one at a time)."""

    def clear(self) -> None:
        for times in self.at.values():
            times.clear()
        self._encoding = None

    def install(self) -> None:
        """Wrap the server's hand-overs (this process only, for the benchmark's run)."""
        stamps = self

        def incoming(init: Callable[..., None]) -> Callable[..., None]:
            def wrapped(source: TrackSource, track: Any) -> None:
                recv = track.recv

                async def timed() -> av.VideoFrame:
                    frame = await recv()
                    stamps.at["arrived"][_number(frame)] = time.monotonic()
                    return frame

                track.recv = timed
                init(source, track)

            return wrapped

        def outgoing(write: Callable[[TrackSink, np.ndarray, Frame], None]) -> Callable[..., None]:
            def wrapped(sink: TrackSink, image: np.ndarray, frame: Frame) -> None:
                number = read_mark(image)
                stamps.at["captured"][number] = frame.capture_ns / 1e9
                stamps.at["output"][number] = time.monotonic()
                write(sink, image, frame)

            return wrapped

        def handed(recv: Callable[[SwappedTrack], Any]) -> Callable[[SwappedTrack], Any]:
            async def wrapped(track: SwappedTrack) -> av.VideoFrame:
                frame = await recv(track)
                assert track._latest is not None  # the image just sent (no await since)
                stamps._encoding = read_mark(track._latest)
                stamps.at["to encoder"][stamps._encoding] = time.monotonic()
                return frame

            return wrapped

        def encoded(next_frame: Callable[..., Any]) -> Callable[..., Any]:
            async def wrapped(sender: RTCRtpSender, codec: Any) -> Any:
                if stamps._encoding is not None:  # the one before is sent: the sender loops back
                    stamps.at["sent"].setdefault(stamps._encoding, time.monotonic())
                result = await next_frame(sender, codec)
                if stamps._encoding is not None:
                    stamps.at["encoded"][stamps._encoding] = time.monotonic()
                return result

            return wrapped

        TrackSource.__init__ = incoming(TrackSource.__init__)  # type: ignore[method-assign]
        TrackSink.write = outgoing(TrackSink.write)  # type: ignore[method-assign]
        SwappedTrack.recv = handed(SwappedTrack.recv)  # type: ignore[method-assign,assignment]
        RTCRtpSender._next_encoded_frame = encoded(RTCRtpSender._next_encoded_frame)  # type: ignore[attr-defined,method-assign]


def _number(frame: av.VideoFrame) -> int:
    """The number drawn in a decoded frame, read from its luma plane (no colour conversion)."""
    plane = frame.planes[0]
    luma = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
    return read_mark(luma)


async def call(swapper: Swapper, seconds: float, out: Path) -> None:
    """Serve on a free local port and run the peer against it for ``seconds``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    runner = web.AppRunner(Server(Sessions(swapper.face_swap), TOKEN).app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        peer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "rtswap.testing.peer",
            f"http://127.0.0.1:{port}",
            TOKEN,
            str(seconds),
            str(out),
        )
        if await peer.wait():
            sys.exit("the peer failed")
    finally:
        await runner.cleanup()


def legs(stamps: Stamps, peer: Any) -> dict[str, list[float]]:
    """Each leg's milliseconds over the frames that came back with every stamp."""
    at = stamps.at
    received = peer["times"]
    sent_by_peer = received - peer["latency_ms"] / 1000
    out: dict[str, list[float]] = {name: [] for name in (*LEGS, "round trip")}
    for number, sent, back in zip(peer["numbers"].tolist(), sent_by_peer, received, strict=True):
        if np.isnan(sent) or any(number not in times for times in at.values()):
            continue
        times = [sent, *(at[name][number] for name in at), back]
        for name, (a, b) in zip(LEGS, zip(times, times[1:], strict=False), strict=True):
            out[name].append(1000 * (b - a))
        out["round trip"].append(1000 * (back - sent))
    return out


@contextlib.contextmanager
def stock_jitter_buffer() -> Iterator[None]:
    """aiortc's own jitter buffer in the server, for a comparison (``rtswap.serve.jitter``)."""
    install = jitter.install
    jitter.install = lambda: None  # type: ignore[assignment]
    aiortc.rtcrtpreceiver.JitterBuffer = aiortc.jitterbuffer.JitterBuffer  # type: ignore[misc]
    try:
        yield
    finally:
        jitter.install = install  # type: ignore[assignment]


def one_call(swapper: Swapper, stamps: Stamps, seconds: float, stock: bool) -> dict[str, Any]:
    stamps.clear()
    with tempfile.TemporaryDirectory() as tmp, stock_jitter_buffer() if stock else contextlib.nullcontext():
        asyncio.run(call(swapper, seconds, Path(tmp) / "peer.npz"))
        peer = dict(np.load(Path(tmp) / "peer.npz"))
    measured = legs(stamps, peer)
    return {
        "frames": len(measured["round trip"]),
        "fps_back": round(len(peer["numbers"]) / float(peer["times"][-1] - peer["times"][0]), 2),
        "legs_ms": {name: percentiles(values) for name, values in measured.items()},
    }


def show(name: str, result: dict[str, Any]) -> None:
    print(f"{name}: {result['frames']} frames back with every stamp, {result['fps_back']} fps")
    print(f"  {'ms':<18} {'p50':>7} {'p95':>7} {'p99':>7}")
    for leg, figures in result["legs_ms"].items():
        print(f"  {leg:<18} {figures['p50']:>7.1f} {figures['p95']:>7.1f} {figures['p99']:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--compare-stock-jitter-buffer",
        action="store_true",
        help="each round, a call with aiortc's own jitter buffer in the server first",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    stamps = Stamps()
    stamps.install()
    sides = [("aiortc's jitter buffer", True)] if args.compare_stock_jitter_buffer else []
    sides.append(("rtswap's jitter buffer", False))
    calls: dict[str, list[dict[str, Any]]] = {}
    with Swapper(grace_hopper_path(), SwapConfig(device="cpu")) as swapper:
        for _ in range(args.rounds):
            for name, stock in sides:
                calls.setdefault(name, []).append(one_call(swapper, stamps, args.seconds, stock))
                show(name, calls[name][-1])
    if args.json:
        result = {
            "machine": machine(),
            "input": "640x480 at 30 fps from a peer process (rtswap.testing.peer), warp engine, governor on",
            "seconds": args.seconds,
            "calls": calls,
        }
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
