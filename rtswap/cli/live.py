"""``rtswap live``: a camera, video file or synthetic clip in; a window, virtual camera or file out."""

from __future__ import annotations

import argparse
import logging
import time
from typing import TYPE_CHECKING

import rtswap
from rtswap.cli import argtypes
from rtswap.cli.notes import StatusLine, latency_line, note_neural_on_cpu, plural
from rtswap.cli.options import add_latency_budget, add_resolution, add_sources, add_swap, sources, swap_config
from rtswap.errors import OutputError

if TYPE_CHECKING:
    import numpy as np

    from rtswap.frame import Frame
    from rtswap.output.base import Sink
    from rtswap.pipeline import RunReport

log = logging.getLogger("rtswap")


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    live = sub.add_parser(
        "live",
        parents=parents,
        help="swap faces live: camera, video or synthetic clip in; window, virtual camera or file out",
        description="Swap every face in a live stream for the face in SRC, at the input's frame "
        "rate: stale frames are dropped, never queued. The window shows output FPS, "
        "glass-to-glass latency and faces tracked; q (or Ctrl-C) stops.",
    )
    live.add_argument(
        "--input",
        default="webcam",
        metavar="IN",
        help="webcam (default), a camera index or /dev/videoN, a video file (played at its own "
        "frame rate), or synthetic (the demo's generated astronaut, 30 fps)",
    )
    live.add_argument(
        "--output",
        action="append",
        metavar="OUT",
        help="window (default when a display exists), virtualcam, FILE.mp4 or null; repeat for several",
    )
    live.add_argument("--loop", action="store_true", help="start a video file input over when it ends")
    live.add_argument(
        "--reconnect", action="store_true", help="wait for a camera that disappears to come back"
    )
    live.add_argument(
        "--vfr",
        action="store_true",
        help="record FILE.mp4 with each frame's own timestamp (variable frame rate); by default "
        "recordings run at the input's constant frame rate, a dropped frame repeating the one before",
    )
    add_resolution(live, "camera mode to ask for, and size of the synthetic input")
    add_latency_budget(live)
    live.add_argument(
        "--fps", type=argtypes.positive_float, default=30.0, help="camera frame rate to ask for (default: 30)"
    )
    live.add_argument(
        "--seconds", type=argtypes.positive_float, default=None, help="stop after this many seconds"
    )
    add_sources(live)
    add_swap(live)


def _check(args: argparse.Namespace) -> list[str]:
    """The outputs to open, or one line saying what is missing here, the camera and the display at
    once, with a command that works without them."""
    from rtswap.capture.checks import camera_missing, check_source, check_synthetic, is_camera
    from rtswap.output.checks import check_sink, display_available

    outputs = args.output or ["window"]
    no_camera = camera_missing(args.input) if is_camera(args.input) else None
    no_display = not args.output and not display_available()
    if no_display and not no_camera:
        raise OutputError("no display for a preview window: choose --output virtualcam, FILE.mp4 or null")
    if no_camera:
        missing = f"no camera at {no_camera}" + (" and no display for a preview window" if no_display else "")
        source = args.source[0] if args.source else "face.jpg"
        works = f"rtswap live --source {source} --input synthetic" + (
            " --output live.mp4" if no_display else ""
        )
        raise OutputError(f"{missing}; this works here: {works}")
    check_source(args.input)
    if args.input == "synthetic":
        check_synthetic(args.resolution, args.fps)
    for spec in outputs:
        check_sink(spec)
    return outputs


def run(args: argparse.Namespace) -> int:
    outputs = _check(args)  # the input, every output and the options, before torch is imported
    config = swap_config(args)
    source_faces, maps = sources(args)
    from rtswap.capture.open import open_source
    from rtswap.output.window import overlay_text
    from rtswap.pipeline import Pipeline, PipelineConfig
    from rtswap.swapper import Swapper

    last_status = 0.0
    first_frame_s: float | None = None
    line = StatusLine()

    def status(frame: Frame, image: np.ndarray) -> None:
        nonlocal last_status, first_frame_s
        if first_frame_s is None:
            first_frame_s = time.monotonic() - rtswap.IMPORTED_S
        if not args.quiet and "window" not in outputs and time.monotonic() - last_status >= 1.0:
            last_status = time.monotonic()
            line.show(overlay_text(pipeline.stats))

    with line, Swapper(source_faces, config, maps=maps, progress=not args.quiet) as swapper:
        note_neural_on_cpu(swapper)
        source = open_source(
            args.input,
            live=True,
            loop=args.loop,
            resolution=args.resolution,
            fps=args.fps,
            reconnect=args.reconnect,
        )
        pipeline_config = PipelineConfig(
            live=True,
            detect_every=args.detect_every,
            max_faces=args.faces,
            label=args.label,
            latency_budget_ms=args.latency_budget,
            vfr=args.vfr,
        )
        pipeline = Pipeline.open(swapper.face_swap, source, outputs, pipeline_config, on_output=status)
        stop = "q in the window or Ctrl-C" if "window" in outputs else "Ctrl-C"
        log.info("swapping %s -> %s; %s to stop", args.input, ", ".join(outputs), stop)
        report = pipeline.run(seconds=args.seconds)
    _summarise(report, pipeline.sinks, first_frame_s)
    return 0


def _summarise(report: RunReport, sinks: list[Sink], first_frame_s: float | None) -> None:
    """What the run did: its figures, the files it wrote, when its first frame came out."""
    from rtswap.output.file import VideoFileSink

    summary = latency_line(report.stats.summary(), report.dropped)
    print(f"{plural(len(report.stats), 'frame')} swapped: {summary}")
    for sink in sinks:
        if isinstance(sink, VideoFileSink):
            repeats = sink.frames - len(report.stats)
            note = (
                f", {repeats} of them repeating the frame before in a dropped frame's slot" if repeats else ""
            )
            print(f"wrote {sink.path} ({plural(sink.frames, 'frame')}{note})")
    if first_frame_s is not None:
        print(f"first frame out {first_frame_s:.2f} s after start")
