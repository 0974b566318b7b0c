"""Option groups that several commands share, and the one :class:`~rtswap.config.SwapConfig` they
fill. An engine's own flags are declared by the engine (:func:`rtswap.engines.add_arguments`)."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from rtswap import engines
from rtswap.cli import argtypes
from rtswap.config import SwapConfig
from rtswap.errors import InputError
from rtswap.plugins.masks import KINDS as MASK_KINDS
from rtswap.plugins.masks import REGIONS as MASK_REGIONS
from rtswap.runtime import BACKENDS, PRECISIONS

SOURCE_HELP = (
    "the face to put in: an image (largest face used), a video of it, or a name stored with "
    "'rtswap identity add'; prepared once and cached"
)


def add_resolution(parser: argparse.ArgumentParser, meaning: str) -> None:
    parser.add_argument(
        "--resolution",
        type=argtypes.resolution,
        default=(1280, 720),
        metavar="WxH",
        help=f"{meaning} (default: 1280x720)",
    )


def add_sources(parser: argparse.ArgumentParser) -> None:
    """What to swap in and which faces: for every command that swaps a stream."""
    parser.add_argument(
        "--source",
        action="append",
        metavar="SRC",
        help=SOURCE_HELP + "; repeat for a different source per face (left to right as faces appear, "
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
        "--faces", type=argtypes.positive_int, default=None, metavar="N", help="swap only the N largest faces"
    )
    add_detect_every(parser)


def add_latency_budget(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency-budget",
        type=argtypes.non_negative_float,
        default=None,
        metavar="MS",
        help="keep glass-to-glass p95 latency under MS: when it is missed, or frames are dropped, "
        "quality steps down (smaller crop, slower detection sweep, lighter blend, then swapping "
        "every other frame) and back up when there is room (default: 2.5 frame intervals of the "
        "input; 0: fixed full quality)",
    )


def add_detect_every(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--detect-every",
        type=argtypes.positive_int,
        default=10,
        metavar="K",
        help="while faces are tracked, scan the whole frame for new ones every K frames (and one tile "
        "of it for small faces halfway between); track faces on every frame (default: 10)",
    )


def add_engine(parser: argparse.ArgumentParser, default: str = engines.DEFAULT) -> None:
    """Which engine, on which device, and how it runs, with every engine's own flags."""
    parser.add_argument(
        "--engine",
        default=default,
        type=argtypes.engine,
        help="swap engine: "
        + "; ".join(f"{package.NAME} ({package.SUMMARY})" for package in engines.packages())
        + f" (default: {default}); or the path of your own model card (.toml). 'rtswap engines list' "
        "shows each engine's files",
    )
    parser.add_argument(
        "--device", default="auto", help="auto (CUDA if present, else CPU), cpu, or cuda[:N] (default: auto)"
    )
    add_runtime(parser)
    engines.add_arguments(parser)


def add_runtime(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backend",
        default="auto",
        choices=("auto", *BACKENDS),
        help="how neural engines, restorers and mask models run (warp is plain tensor operations): auto "
        "(tensorrt if installed on CUDA, else inductor on CUDA, else onnxruntime on CPU), eager, inductor "
        "(torch.compile), onnxruntime or tensorrt",
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=PRECISIONS,
        help="neural engines', restorers' and mask models' precision; fp16 and bf16 need CUDA "
        "(default: fp32)",
    )
    add_models(parser)


def add_models(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of model files (default: $RTSWAP_MODELS, else the user data folder)",
    )


def add_swap(parser: argparse.ArgumentParser) -> None:
    """The engine, and how faces are swapped and labelled: for every command that swaps."""
    add_engine(parser)
    parser.add_argument(
        "--no-occluders",
        dest="keep_occluders",
        action="store_false",
        help="paint the swap over whatever covers a face (hair, glasses frames, a hand) instead of "
        "keeping it on top; also skips the look for hands",
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
        "head and expression, the outline and what is around it moving with it (warp engine only; see "
        "docs/quality.md for what it measures)",
    )
    _add_masks(parser)
    _add_restorer(parser)
    parser.add_argument(
        "--no-label",
        dest="label",
        action="store_false",
        help="do not draw the visible 'AI face swap' label (metadata is still written)",
    )


def _add_masks(parser: argparse.ArgumentParser) -> None:
    masks = parser.add_argument_group("what of a face is swapped (occlusion, region: on your model files)")
    masks.add_argument(
        "--mask",
        type=argtypes.listed(MASK_KINDS),
        default=("skin",),
        metavar="KINDS",
        help="combined, comma-separated: box (the aligned crop, feathered, not the face's outline), skin "
        "(what is not skin-coloured stays on top; the default), occlusion (an XSeg occluder model: xseg_1, "
        "xseg_2, xseg_3, all you have), region (a BiSeNet face parser: --mask-regions; its glasses and hair "
        "stay on top, but for the eyes behind clear lenses); glasses' rims and hands stay on top whatever "
        "you choose",
    )
    masks.add_argument(
        "--mask-regions",
        type=argtypes.listed(list(MASK_REGIONS)),
        default=None,
        metavar="REGIONS",
        help=f"with --mask region, what is swapped (default: {','.join(MASK_REGIONS)})",
    )


def _add_restorer(parser: argparse.ArgumentParser) -> None:
    restorers = parser.add_argument_group("face restorer (on your model file; rtswap engines list)")
    restorers.add_argument(
        "--enhancer",
        type=argtypes.enhancer,
        default=None,
        metavar="NAME",
        help="restore each swapped face before it is pasted: gfpgan_1.4 (or 1.2, 1.3), codeformer, "
        "gpen_bfr_256, gpen_bfr_512, gpen_bfr_1024 or restoreformer_plus_plus, on the file you add with "
        "rtswap engines add; a neural network per face per frame: on a CPU, far from real time",
    )
    restorers.add_argument(
        "--enhancer-blend",
        type=argtypes.fraction,
        default=0.8,
        metavar="0..1",
        help="how much of the restored face goes into the swap (default: 0.8)",
    )
    restorers.add_argument(
        "--enhancer-fidelity",
        type=argtypes.fraction,
        default=0.5,
        metavar="0..1",
        help="CodeFormer's fidelity: 0 restores most, 1 keeps the face most as it was (default: 0.5)",
    )


def engine_config(args: argparse.Namespace) -> SwapConfig:
    """The engine part of the config, from a command with :func:`add_engine`'s flags."""
    return SwapConfig(
        engine=args.engine,
        device=args.device,
        backend=args.backend,
        precision=args.precision,
        models_dir=args.models,
        engine_options=engines.options(args.engine, args),
    )


def swap_config(args: argparse.Namespace) -> SwapConfig:
    """The config of a command with :func:`add_swap`'s flags."""
    if args.mask_regions is not None and "region" not in args.mask:  # it would change nothing
        raise InputError("--mask-regions chooses what the face parser swaps: add region to --mask")
    return replace(
        engine_config(args),
        keep_occluders=args.keep_occluders,
        landmarks=args.landmarks,
        shape=args.shape,
        masks=args.mask,
        mask_regions=args.mask_regions or tuple(MASK_REGIONS),
        enhancer=args.enhancer,
        enhancer_blend=args.enhancer_blend,
        enhancer_fidelity=args.enhancer_fidelity,
    )


def sources(args: argparse.Namespace) -> tuple[list[str], list[tuple[Path, str]]]:
    """The sources and reference maps from --source and --map."""
    if not args.source and not args.map:
        raise InputError("give the face to put in: --source SRC (or --map REF=SRC)")
    return args.source or [], [parse_map(spec) for spec in args.map]


def parse_map(spec: str) -> tuple[Path, str]:
    """``REF=SRC`` -> (reference photo, source)."""
    reference, sep, source = spec.partition("=")
    if not sep or not reference or not source:
        raise InputError(
            f"--map {spec!r}: expected REF=SRC, a photo of the person to replace and their source"
        )
    return Path(reference), source
