"""The ``rtswap`` command line."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import rtswap
from rtswap.bench.config import WARMUP_S
from rtswap.engines import ENGINES
from rtswap.errors import InputError, OutputError, RtswapError
from rtswap.runtime import BACKENDS, PRECISIONS

if TYPE_CHECKING:
    import numpy as np

    from rtswap.frame import Frame
    from rtswap.output.stats import Summary
    from rtswap.swapper import Swapper

log = logging.getLogger("rtswap")

_DESCRIPTION = """\
Real-time face swap. Every output rtswap writes is marked as synthetic: a visible
label in the corner (turn off with --no-label) and a metadata tag in the file.
Use it only with the consent of the people whose faces you use."""


_SOURCE_HELP = (
    "the face to put in: an image (largest face used), a video of it, or a name stored with "
    "'rtswap identity add'; prepared once and cached"
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _engine(text: str) -> str:
    if text in ENGINES or text.startswith("onnx:") or text.endswith(".toml"):
        return text
    raise argparse.ArgumentTypeError(
        f"{text!r}: choose {', '.join(ENGINES)}, onnx:NAME (see rtswap engines list) or a model card (.toml)"
    )


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x720, got {text!r}") from None
    if width < 16 or height < 16:
        raise argparse.ArgumentTypeError(f"resolution too small: {text}")
    return width, height


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value:g}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value:g}")
    return value


def _add_resolution(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--resolution",
        type=_resolution,
        default=(1280, 720),
        metavar="WxH",
        help=f"{meaning} (default: 1280x720)",
    )


def _add_swap_options(parser: argparse.ArgumentParser) -> None:
    """What to swap in and which faces: for every command that swaps a stream."""
    parser.add_argument(
        "--source",
        action="append",
        metavar="SRC",
        help=_SOURCE_HELP + "; repeat for a different source per face (left to right as faces appear, "
        "each kept by its face while it stays in view)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="REF=SRC",
        help="swap the person in photo REF for SRC, whoever else is in view (repeatable; compares faces by "
        "ArcFace embedding, so it needs w600k_r50.onnx: see 'rtswap engines add'); without --source, "
        "faces that match no REF are left as they are",
    )
    parser.add_argument(
        "--faces", type=_positive_int, default=None, metavar="N", help="swap only the N largest faces"
    )
    _add_detect_every(parser)


def _add_latency_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-budget",
        type=_non_negative_float,
        default=None,
        metavar="MS",
        help="keep glass-to-glass p95 latency under MS: when it is missed, or frames are dropped, "
        "quality steps down (smaller crop, slower detection sweep, lighter blend, then swapping "
        "every other frame) and back up when there is room (default: 2.5 frame intervals of the "
        "input; 0: fixed full quality)",
    )


def _add_detect_every(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detect-every",
        type=_positive_int,
        default=10,
        metavar="K",
        help="while faces are tracked, scan the whole frame for new ones every K frames (and one tile "
        "of it for small faces halfway between); track faces on every frame (default: 10)",
    )


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Which engine, and how it runs: for every command that swaps or prepares a source."""
    parser.add_argument(
        "--engine",
        default="warp",
        type=_engine,
        help="swap engine: warp (default, built in, needs no downloaded weights); inswapper (your own "
        "inswapper_128.onnx and w600k_r50.onnx); simswap or megafs (their published checkpoints); "
        "onnx:NAME, a swapper described by a model card, e.g. "
        "onnx:hyperswap_1a_256 (rtswap engines list shows them all); or the path of your own card (.toml)",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA if present, else CPU), cpu, or cuda[:N] (default: auto)"
    )
    parser.add_argument(
        "--crop-size",
        type=_positive_int,
        default=256,
        metavar="PX",
        help="warp: side of the aligned face crop; larger is sharper and slower (default: 256)",
    )
    _add_runtime_options(parser)
    parser.add_argument(
        "--boost",
        type=int,
        choices=(1, 2, 3, 4),
        default=1,
        help="inswapper: swap at 128·K px as K² interleaved 128 px sub-grids (sharper, K² times the "
        "work; default: 1)",
    )
    _add_megafs_resolution(parser)


def _add_megafs_resolution(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--megafs-resolution",
        type=int,
        choices=(1024, 512, 256),
        default=1024,
        help="megafs: stop StyleGAN2's synthesis at this resolution's RGB output and swap at that crop "
        "size; lower is faster and less detailed (default: 1024)",
    )


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", *BACKENDS),
        help="how neural engines run: auto (tensorrt if installed on CUDA, else inductor on CUDA, else "
        "onnxruntime on CPU), eager, inductor (torch.compile), onnxruntime or tensorrt",
    )
    parser.add_argument(
        "--precision", default="fp32", choices=PRECISIONS, help="neural engines' precision (default: fp32)"
    )
    _add_models(parser)


def _add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of model files (default: $RTSWAP_MODELS, else the user data folder)",
    )


def _sources(args: argparse.Namespace) -> dict[str, Any]:
    """The Swapper's sources and reference maps from --source and --map."""
    from rtswap.identity.matcher import parse_map

    if not args.source and not args.map:
        raise InputError("give the face to put in: --source SRC (or --map REF=SRC)")
    return {"source": args.source or [], "maps": [parse_map(spec) for spec in args.map]}


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Swapper's engine settings from the command line."""
    return {
        "crop_size": args.crop_size,
        "backend": args.backend,
        "precision": args.precision,
        "models_dir": args.models,
        "boost": args.boost,
        "megafs_resolution": args.megafs_resolution,
    }


def _swap_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Swapper's options from the command line: engine settings and how faces are swapped."""
    return {
        **_engine_options(args),
        "keep_occluders": args.keep_occluders,
        "landmarks": args.landmarks,
        "shape": args.shape,
    }


def _add_common(parser: argparse.ArgumentParser) -> None:
    _add_engine_options(parser)
    parser.add_argument(
        "--no-occluders",
        dest="keep_occluders",
        action="store_false",
        help="paint the swap over whatever covers a face (hair, glasses frames, a hand) instead of "
        "keeping it on top; also skips the hand check (about 13 ms on every 6th frame on a 2-core CPU)",
    )
    parser.add_argument(
        "--landmarks",
        choices=("auto", "mediapipe", "torch"),
        default="auto",
        help="face detection and landmarks: mediapipe's CPU graphs, or their PyTorch ports on --device "
        "(batched, for the GPU); auto (default): torch on CUDA, mediapipe on CPU, where it is faster",
    )
    parser.add_argument(
        "--shape",
        choices=("target", "source"),
        default="target",
        help="whose face shape the swap has: the target's (default), or the source's, moved by the target's "
        "head and expression, the outline and what is around it moving with it (warp engine only; see the "
        "README's Quality section for what it measures)",
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
    # -q also after the command (rtswap swap -q ...): its default must not override the top level's
    quiet = argparse.ArgumentParser(add_help=False)
    quiet.add_argument(
        "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )

    demo = sub.add_parser(
        "demo",
        parents=[quiet],
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
        parents=[quiet],
        help="swap faces in an image or video file",
        description="Swap every face in INPUT (image or video) for the face in SRC. Videos keep "
        "their frame count, frame rate, duration and audio. OUTPUT appears only "
        "when complete.",
    )
    swap.add_argument("input", type=Path, metavar="INPUT", help="image or video to change")
    swap.add_argument(
        "output", type=Path, metavar="OUTPUT", help="where to write the result (same kind as INPUT)"
    )
    _add_swap_options(swap)
    _add_common(swap)

    live = sub.add_parser(
        "live",
        parents=[quiet],
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
    _add_resolution(live, "camera mode to ask for, and size of the synthetic input")
    _add_latency_budget(live)
    live.add_argument("--fps", type=float, default=30.0, help="camera frame rate to ask for (default: 30)")
    live.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    _add_swap_options(live)
    _add_common(live)

    serve = sub.add_parser(
        "serve",
        parents=[quiet],
        help="serve a web page: the browser's camera goes in over WebRTC, the swapped video comes back",
        description="Start a WebRTC server (aiohttp + aiortc; pip install -e '.[serve]'). It prints "
        "a URL with an access token: open it, allow the camera, and the swapped video "
        "plays back with its frame rate and round-trip time. Each browser tab is a "
        "session with its own pipeline; the page can upload another source face for its "
        "own session.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_positive_int, default=8080, help="port (default: 8080)")
    serve.add_argument(
        "--token", default=None, help="access token clients must send (default: a new random one)"
    )
    serve.add_argument(
        "--max-sessions", type=_positive_int, default=4, metavar="N", help="sessions at once (default: 4)"
    )
    _add_latency_budget(serve)
    serve.add_argument(
        "--source",
        default=None,
        metavar="SRC",
        help=_SOURCE_HELP + " (default: the sample photo of Grace Hopper; with --ray, an image)",
    )
    cluster = serve.add_argument_group(
        "on a Ray cluster (pip install -e '.[cluster]')",
        "Sessions run on replicas of a SwapSession deployment, each holding up to --max-sessions; a new "
        "session goes to the least-loaded replica and replicas are added and removed with the load.",
    )
    cluster.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="serve from the Ray cluster at ADDRESS, or 'auto': the one this machine has joined "
        "(ray start --head / ray start --address ...)",
    )
    cluster.add_argument(
        "--min-replicas", type=_positive_int, default=1, metavar="N", help="replicas at least (default: 1)"
    )
    cluster.add_argument(
        "--max-replicas", type=_positive_int, default=4, metavar="N", help="replicas at most (default: 4)"
    )
    cluster.add_argument(
        "--target-sessions",
        type=_positive_float,
        default=2.0,
        metavar="N",
        help="autoscaling keeps about N sessions per replica (default: 2)",
    )
    cluster.add_argument(
        "--gpus-per-replica",
        type=_non_negative_float,
        default=0.0,
        metavar="G",
        help="GPUs each replica reserves, e.g. 1, or 0.5 for two replicas per GPU (default: 0)",
    )
    _add_common(serve)

    identity = sub.add_parser(
        "identity",
        parents=[quiet],
        help="prepare source faces ahead of time and store them by name",
        description="Sources are prepared once (views, landmarks, head poses) and stored in the "
        "identity cache ($RTSWAP_CACHE, or the user cache folder). A stored name works "
        "anywhere --source does. Several images or a video of the person turning their "
        "head give the warp engine pose-matched views (an appearance map).",
    )
    actions = identity.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", parents=[quiet], help="prepare images and/or videos and store them as NAME"
    )
    add.add_argument("name", metavar="NAME", help="letters, digits, '.', '_', '-'")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE", help="images and/or videos of the face")
    add.add_argument("--force", action="store_true", help="replace an identity stored under NAME")
    _add_engine_options(add)  # it prepares a source: nothing is swapped or labelled
    actions.add_parser("list", parents=[quiet], help="show stored identities")
    remove = actions.add_parser("rm", parents=[quiet], help="delete a stored identity")
    remove.add_argument("name", metavar="NAME")

    engines = sub.add_parser(
        "engines",
        parents=[quiet],
        help="list, add and build the swap engines' model files",
        description="Neural engines run on model files you download yourself (rtswap never "
        "downloads weights). 'add' checks each file against the engines' model cards "
        "(SHA-256 and layout) and copies it into the models folder ($RTSWAP_MODELS, else "
        "the user data folder); 'list' shows each engine's files, whether they are verified, "
        "unverified (a layout rtswap recognises, unknown hash) or missing, and the "
        "backends that can run it here; 'build' compiles ahead of time what the backend "
        "allows, so the first live frame is not slow.",
    )
    actions = engines.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", parents=[quiet], help="show every engine, its files and where it can run"
    )
    _add_models(listing)
    listing.add_argument("--device", default="auto", help="device to list backends for (default: auto)")
    adding = actions.add_parser(
        "add", parents=[quiet], help="check model files against the cards and install them"
    )
    adding.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="e.g. inswapper_128.onnx w600k_r50.onnx"
    )
    _add_models(adding)
    adding.add_argument(
        "--engine",
        default=None,
        type=_engine,
        help="only consider this engine's files (when a file fits several, e.g. two ArcFace exports)",
    )
    converting = actions.add_parser(
        "convert",
        parents=[quiet],
        help="turn SimSwap's pickled ArcFace (arcface_checkpoint.tar) into weights, once",
        description="SimSwap's released ArcFace is a pickled whole model: loading it runs code named in "
        "the file, so rtswap refuses it. If you trust where the file came from, this unpickles it once "
        "(with stand-ins for SimSwap's classes, none of SimSwap's code is needed), checks that it is "
        "SimSwap's ArcFace, and writes only its weights to simswap_arcface.safetensors in the models "
        "folder, which loads without running anything.",
    )
    converting.add_argument("file", type=Path, metavar="FILE", help="e.g. arcface_checkpoint.tar")
    converting.add_argument(
        "--trust-pickle", action="store_true", help="required: you trust the file to run code on this machine"
    )
    _add_models(converting)
    build = actions.add_parser(
        "build", parents=[quiet], help="compile an engine ahead of time (TensorRT plans, inductor caches)"
    )
    build.add_argument(
        "--engine", default="inswapper", type=_engine, help="engine to build (default: inswapper)"
    )
    build.add_argument("--device", default="auto", help="auto, cpu or cuda[:N] (default: auto)")
    build.add_argument(
        "--boost", type=int, choices=(1, 2, 3, 4), default=1, help="inswapper boost to build for"
    )
    _add_megafs_resolution(build)
    _add_runtime_options(build)

    bench = sub.add_parser(
        "bench",
        parents=[quiet],
        help="measure the live pipeline: FPS, glass-to-glass latency, per-stage times",
        description="Run the live pipeline on the synthetic clip (or a looped video file) into a "
        "null sink and report FPS in/out, drops, and p50/p95/p99 of glass-to-glass "
        "latency and of each stage, from the frames' own timestamps. The first "
        f"{WARMUP_S:g} s are warm-up and not counted.",
    )
    bench.add_argument(
        "--input", default="synthetic", metavar="IN", help="synthetic (default) or a video file"
    )
    _add_resolution(bench, "synthetic input size")
    bench.add_argument(
        "--fps",
        type=_non_negative_float,
        default=30.0,
        help="input pacing; 0 = as fast as possible (default: 30)",
    )
    bench.add_argument("--seconds", type=float, default=20.0, help="measured duration (default: 20)")
    bench.add_argument(
        "--faces",
        type=_positive_int,
        default=1,
        metavar="N",
        help="faces in the synthetic input (default: 1)",
    )
    _add_latency_budget(bench)
    bench.add_argument(
        "--compare-sequential",
        action="store_true",
        help="also run the same stages one after another in one thread, unpaced, and report the speedup",
    )
    bench.add_argument(
        "--json", type=Path, default=None, metavar="PATH", help="also write the result as JSON"
    )
    _add_detect_every(bench)
    _add_common(bench)
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO, format="rtswap: %(message)s")
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, `kill`) stops as Ctrl-C does: a live run ends cleanly and its
        # recording is finalised; offline work is abandoned without leaving partial files
        signal.signal(signal.SIGTERM, _interrupt)
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
            args.engine,
            args.device,
            seconds=args.seconds,
            label=args.label,
            **_swap_options(args),
        )
        summary = demo.run.stats.summary()
        print(
            f"wrote {demo.video} ({demo.frames} frames, 1280x720 at 30 fps; {summary.frames} swapped live, "
            f"the slots of dropped frames repeat the frame before) and {demo.preview}"
        )
        print(f"live pipeline: {_latency_line(summary, demo.run.dropped)}")
        return 0
    if args.command == "swap":
        from rtswap.offline import check_swap_paths, swap_file
        from rtswap.swapper import Swapper

        check_swap_paths(args.input, args.output)  # before the source is prepared

        with Swapper(
            engine=args.engine, device=args.device, **_sources(args), **_swap_options(args)
        ) as swapper:
            report = swap_file(
                swapper,
                args.input,
                args.output,
                label=args.label,
                progress=not args.quiet,
                detect_every=args.detect_every,
                max_faces=args.faces,
            )
        if report.faces == 0:
            log.warning("no face found in %s; wrote it unchanged", args.input)
        print(
            f"wrote {args.output} ({report.frames} frame{'s' * (report.frames != 1)}, "
            f"{report.faces} face{'s' * (report.faces != 1)} swapped, "
            + (f"{report.seconds:.1f} s)" if report.frames == 1 else f"{report.fps:.1f} fps)")
        )
        return 0
    if args.command == "live":
        return _live(args)
    if args.command == "bench":
        return _bench(args)
    if args.command == "identity":
        return _identity(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "engines":
        return _engines(args)
    raise AssertionError(args.command)


def _latency_line(summary: Summary, dropped: int) -> str:
    latency = summary.latency_ms
    return (
        f"{summary.fps_out:.1f} fps out, glass-to-glass latency p50 {latency['p50']:.0f} ms, "
        f"p95 {latency['p95']:.0f} ms, p99 {latency['p99']:.0f} ms, {dropped} frames dropped"
    )


def _live(args: argparse.Namespace) -> int:
    from rtswap.capture import check_source, open_source
    from rtswap.output import check_sink
    from rtswap.output.window import display_available, overlay_text
    from rtswap.pipeline import Pipeline, PipelineConfig
    from rtswap.swapper import Swapper

    outputs = args.output or ["window"]
    if not args.output and not display_available():
        raise OutputError("no display for a preview window: choose --output virtualcam, FILE.mp4 or null")
    check_source(args.input)  # the input and every output checked before any work
    for spec in outputs:
        check_sink(spec)
    last_status = 0.0
    first_frame_s: float | None = None

    def status(frame: Frame, image: np.ndarray) -> None:
        nonlocal last_status, first_frame_s
        if first_frame_s is None:
            first_frame_s = time.monotonic() - rtswap.IMPORTED_S
        if not args.quiet and "window" not in outputs and time.monotonic() - last_status >= 1.0:
            last_status = time.monotonic()
            print(f"\r{overlay_text(pipeline.stats)}", end="", file=sys.stderr, flush=True)

    with Swapper(engine=args.engine, device=args.device, **_sources(args), **_swap_options(args)) as swapper:
        _note_neural_on_cpu(swapper)
        source = open_source(
            args.input,
            live=True,
            loop=args.loop,
            resolution=args.resolution,
            fps=args.fps,
            reconnect=args.reconnect,
        )
        config = PipelineConfig(
            live=True,
            detect_every=args.detect_every,
            max_faces=args.faces,
            label=args.label,
            latency_budget_ms=args.latency_budget,
            vfr=args.vfr,
        )
        pipeline = Pipeline.open(swapper.face_swap, source, outputs, config, on_output=status)
        stop = "q in the window or Ctrl-C" if "window" in outputs else "Ctrl-C"
        log.info("swapping %s -> %s; %s to stop", args.input, ", ".join(outputs), stop)
        run = pipeline.run(seconds=args.seconds)
    if not args.quiet and "window" not in outputs:
        print(file=sys.stderr)
    print(f"{len(run.stats)} frames: {_latency_line(run.stats.summary(), run.dropped)}")
    if first_frame_s is not None:
        print(f"first frame out {first_frame_s:.2f} s after start")
    return 0


def _note_neural_on_cpu(swapper: Swapper) -> None:
    """Live work with a neural engine on the CPU: say once what to expect."""
    engine = swapper.face_swap.engine
    if engine.name != "warp" and swapper.device.type == "cpu":
        log.warning(
            "%s on the CPU takes a second or more per face (see the README's generator table): live "
            "output will be a few frames a second; a CUDA device (--device cuda) or --engine warp keeps up",
            engine.name,
        )


def _serve(args: argparse.Namespace) -> int:
    try:
        from rtswap.serve.app import new_token, run
    except ImportError as exc:
        raise OutputError(
            f"rtswap serve needs aiohttp and aiortc: pip install -e '.[serve]' ({exc})"
        ) from None
    from rtswap.media.samples import grace_hopper_path
    from rtswap.swapper import Swapper

    source = args.source or grace_hopper_path()
    if args.ray is not None:
        return _serve_on_ray(args, source)
    with Swapper(source, args.engine, args.device, **_swap_options(args)) as swapper:
        _note_neural_on_cpu(swapper)
        run(
            swapper.face_swap,
            args.host,
            args.port,
            args.token or new_token(),
            args.max_sessions,
            args.label,
            args.latency_budget,
        )
    return 0


def _serve_on_ray(args: argparse.Namespace, source: str | Path) -> int:
    if args.min_replicas > args.max_replicas:
        raise InputError(
            f"--min-replicas {args.min_replicas} is more than --max-replicas {args.max_replicas}"
        )
    try:
        from rtswap.serve import cluster
    except ImportError as exc:
        raise OutputError(
            f"rtswap serve --ray needs Ray Serve: pip install -e '.[cluster]' ({exc})"
        ) from None
    from rtswap.media.image import read_image
    from rtswap.serve.app import new_token
    from rtswap.swapper import Swapper

    # the replicas may run on other machines: they get the image, not its path
    options = {"source": read_image(source), "engine": args.engine, "device": args.device}
    options.update(_swap_options(args))
    with Swapper(**options):  # a source without a face is one line here, not a failing replica
        pass
    config = cluster.ClusterConfig(
        max_sessions=args.max_sessions,
        min_replicas=args.min_replicas,
        max_replicas=args.max_replicas,
        target_sessions=args.target_sessions,
        gpus_per_replica=args.gpus_per_replica,
        label=args.label,
        latency_budget_ms=args.latency_budget,
    )
    cluster.run(args.ray, options, config, args.host, args.port, args.token or new_token())
    return 0


def _identity(args: argparse.Namespace) -> int:
    from rtswap.identity.cache import IdentityCache

    cache = IdentityCache()
    if args.action == "add":
        from rtswap.detect.analyzer import FaceAnalyzer
        from rtswap.device import resolve_device
        from rtswap.engines import create_engine
        from rtswap.engines.base import EngineSettings
        from rtswap.identity.store import IdentityStore

        engine = create_engine(
            EngineSettings(args.engine, resolve_device(args.device), **_engine_options(args))
        )
        with FaceAnalyzer() as analyzer:
            store = IdentityStore(cache, engine, lambda: analyzer, progress=not args.quiet)
            prepared = store.add(args.name, args.files, replace=args.force)
        print(f"stored {args.name!r} for {args.engine}: {prepared.views} view(s) in {cache.entry(args.name)}")
    elif args.action == "rm":
        cache.remove(args.name)
        print(f"removed {args.name!r}")
    else:
        print(cache.table())
    return 0


def _engines(args: argparse.Namespace) -> int:
    from rtswap.device import resolve_device
    from rtswap.weights import cards

    folder = cards.models_dir(args.models)
    if args.action == "convert":
        from rtswap.engines.simswap.checkpoint import convert_arcface
        from rtswap.weights.state_dict import CONVERT_HINT

        if not args.trust_pickle:
            raise InputError(f"{args.file}: {CONVERT_HINT.format(path=args.file)}")
        print(f"wrote {convert_arcface(args.file, folder)} (weights only; {args.file} is no longer needed)")
        return 0
    if args.action == "add":
        for path in args.files:
            found = cards.add(path, folder, args.engine)
            note = (
                "verified"
                if found.state == "verified"
                else "unverified: layout recognised, SHA-256 not on the card"
            )
            print(f"added {found.path} ({found.card.engine} {found.card.role}, {note})")
        return 0
    device = resolve_device(args.device)
    if args.action == "list":
        from rtswap.runtime import available_backends

        print(cards.table(folder, available_backends(device)))
        return 0
    from rtswap.engines import create_engine
    from rtswap.engines.base import EngineSettings
    from rtswap.runtime.inductor import BUCKETS

    settings = EngineSettings(
        args.engine,
        device,
        backend=args.backend,
        precision=args.precision,
        models_dir=args.models,
        boost=args.boost,
        megafs_resolution=args.megafs_resolution,
    )
    start = time.monotonic()
    engine = create_engine(settings)
    engine.warmup(BUCKETS)
    seconds = time.monotonic() - start
    if engine.backend in ("inductor", "tensorrt"):
        print(
            f"built {args.engine} on {engine.backend} ({device}, {args.precision}) for batches of "
            f"{', '.join(map(str, BUCKETS))} faces in {seconds:.1f} s"
        )
    else:
        print(
            f"{args.engine} on {engine.backend} has nothing to compile ahead of time; "
            f"it loads and runs ({seconds:.1f} s)"
        )
    return 0


def _bench(args: argparse.Namespace) -> int:
    from rtswap.bench.config import BenchConfig
    from rtswap.bench.runner import format_table, run_bench

    config = BenchConfig(
        input=args.input,
        resolution=args.resolution,
        fps=args.fps,
        seconds=args.seconds,
        faces=args.faces,
        engine=args.engine,
        device=args.device,
        crop_size=args.crop_size,
        backend=args.backend,
        precision=args.precision,
        boost=args.boost,
        megafs_resolution=args.megafs_resolution,
        models_dir=str(args.models) if args.models else None,
        keep_occluders=args.keep_occluders,
        landmarks=args.landmarks,
        shape=args.shape,
        detect_every=args.detect_every,
        latency_budget_ms=args.latency_budget,
        compare_sequential=args.compare_sequential,
    )
    if config.input != "synthetic" and not Path(config.input).is_file():
        raise InputError(f"{config.input}: no such file (bench inputs: synthetic or a video file)")
    result = run_bench(config)
    print(format_table(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
