"""The ``rtswap`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from rtswap.errors import RtswapError
from rtswap.swapper import ENGINES

log = logging.getLogger("rtswap")

_DESCRIPTION = """\
Real-time face swap. Every output rtswap writes is marked as synthetic: a visible
label in the corner (turn off with --no-label) and a metadata tag in the file.
Use it only with the consent of the people whose faces you use."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        default="warp",
        choices=ENGINES,
        help="swap engine (default: warp, built in, needs no downloaded weights)",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA if present, else CPU), cpu, or cuda[:N] (default: auto)"
    )
    parser.add_argument(
        "--crop-size",
        type=_positive_int,
        default=256,
        metavar="PX",
        help="side of the aligned face crop the engine works in; larger is sharper and slower (default: 256)",
    )
    parser.add_argument(
        "--no-label",
        dest="label",
        action="store_false",
        help="do not draw the visible 'AI face swap' label (metadata is still written)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rtswap", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="swap Grace Hopper onto a generated astronaut clip (no camera, no downloads)",
        description="Swap Grace Hopper's face (matplotlib's sample photo) onto a generated "
        "1280x720 30 fps clip of the astronaut turning, nodding, talking and "
        "blinking. Writes DIR/demo.mp4 and DIR/preview.png (source | target | result).",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("rtswap-demo"),
        metavar="DIR",
        help="output folder, created if missing (default: ./rtswap-demo)",
    )
    demo.add_argument("--seconds", type=float, default=5.0, help="clip length (default: 5)")
    _add_common(demo)

    swap = sub.add_parser(
        "swap",
        help="swap faces in an image or video file",
        description="Swap every face in INPUT (image or video) for the face in SRC. Videos keep "
        "their frame count, frame rate, duration and audio. OUTPUT appears only "
        "when complete.",
    )
    swap.add_argument(
        "--source", required=True, metavar="SRC", help="image with the face to put in (largest face used)"
    )
    swap.add_argument("input", type=Path, metavar="INPUT", help="image or video to change")
    swap.add_argument(
        "output", type=Path, metavar="OUTPUT", help="where to write the result (same kind as INPUT)"
    )
    swap.add_argument(
        "--faces", type=_positive_int, default=None, metavar="N", help="swap only the N largest faces"
    )
    _add_common(swap)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO, format="rtswap: %(message)s")
    try:
        return _run(args)
    except RtswapError as exc:
        print(f"rtswap: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rtswap: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    if args.command == "demo":
        from rtswap.demo import run_demo

        demo = run_demo(
            args.out,
            engine=args.engine,
            device=args.device,
            seconds=args.seconds,
            crop_size=args.crop_size,
            label=args.label,
            progress=not args.quiet,
        )
        print(f"wrote {demo.video} ({demo.frames} frames, 1280x720, 30 fps) and {demo.preview}")
        print(
            f"swap speed {demo.frames / demo.swap_seconds:.1f} fps "
            f"({demo.frames / demo.total_seconds:.1f} fps including clip generation and encoding)"
        )
        return 0
    if args.command == "swap":
        from rtswap.offline import swap_file
        from rtswap.swapper import Swapper

        with Swapper(
            args.source,
            engine=args.engine,
            device=args.device,
            max_faces=args.faces,
            crop_size=args.crop_size,
        ) as swapper:
            report = swap_file(swapper, args.input, args.output, label=args.label, progress=not args.quiet)
        if report.faces == 0:
            log.warning("no face found in %s; wrote it unchanged", args.input)
        print(
            f"wrote {args.output} ({report.frames} frame{'s' * (report.frames != 1)}, "
            f"{report.faces} face{'s' * (report.faces != 1)} swapped, {report.fps:.1f} fps)"
        )
        return 0
    raise AssertionError(args.command)


if __name__ == "__main__":
    sys.exit(main())
