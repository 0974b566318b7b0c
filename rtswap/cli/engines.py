"""``rtswap engines list|add|convert|build``: the swap engines' model files."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rtswap.cli import argtypes
from rtswap.cli.options import add_engine, add_models, engine_config
from rtswap.errors import InputError, require_file


def _add_adding(actions: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    adding = actions.add_parser(
        "add", parents=parents, help="check model files against the cards and install them"
    )
    adding.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="e.g. inswapper_128.onnx w600k_r50.onnx"
    )
    add_models(adding)
    adding.add_argument(
        "--force", action="store_true", help="replace a file of the same name already installed"
    )
    adding.add_argument(
        "--engine",
        default=None,
        type=argtypes.engine,
        help="only consider this engine's files (when a file fits several, e.g. two ArcFace exports)",
    )
    adding.add_argument(
        "--enhancer",
        default=None,
        type=argtypes.enhancer,
        metavar="NAME",
        help="the file is this face restorer's (when it fits several: GFPGAN, GPEN-512 and "
        "RestoreFormer++ exports take and give the same)",
    )


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    engines = sub.add_parser(
        "engines",
        parents=parents,
        help="list, add and build the model files of the swap engines, restorers and mask models",
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
        "list", parents=parents, help="show every engine, its files and where it can run"
    )
    add_models(listing)
    listing.add_argument("--device", default="auto", help="device to list backends for (default: auto)")
    _add_adding(actions, parents)
    converting = actions.add_parser(
        "convert",
        parents=parents,
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
    add_models(converting)
    build = actions.add_parser(
        "build", parents=parents, help="compile an engine ahead of time (TensorRT plans, inductor caches)"
    )
    add_engine(build, default="inswapper")


def run(args: argparse.Namespace) -> int:
    from rtswap.engines import models
    from rtswap.weights import cards

    folder = cards.models_dir(args.models)
    if args.action == "convert":
        return _convert(args, folder)
    if args.action == "add":
        for path in args.files:
            found = models.add(path, folder, args.engine or args.enhancer, args.force)
            note = (
                "verified"
                if found.state == "verified"
                else "unverified: layout recognised, SHA-256 not on the card"
            )
            print(f"added {found.path} ({found.card.engine} {found.card.role}, {note})")
        return 0
    if args.action == "list":
        from rtswap.device import resolve_device
        from rtswap.runtime import available_backends

        print(models.table(folder, available_backends(resolve_device(args.device))))
        return 0
    return _build(args)


def _convert(args: argparse.Namespace, folder: Path) -> int:
    from rtswap.engines.simswap.checkpoint import convert_arcface
    from rtswap.weights.state_dict import CONVERT_HINT

    require_file(args.file)  # before the advice on trusting it
    if not args.trust_pickle:
        raise InputError(f"{args.file}: {CONVERT_HINT.format(path=args.file)}")
    print(f"wrote {convert_arcface(args.file, folder)} (weights only; {args.file} is no longer needed)")
    return 0


def _build(args: argparse.Namespace) -> int:
    from rtswap.engines import create_engine
    from rtswap.engines.base import EngineSettings
    from rtswap.runtime.inductor import BUCKETS

    settings = EngineSettings.of(engine_config(args))
    start = time.monotonic()
    engine = create_engine(settings)
    engine.warmup(BUCKETS)
    seconds = time.monotonic() - start
    if engine.backend in ("inductor", "tensorrt"):
        print(
            f"built {args.engine} on {engine.backend} ({settings.device}, {args.precision}) for batches of "
            f"{', '.join(map(str, BUCKETS))} faces in {seconds:.1f} s"
        )
    else:
        print(
            f"{args.engine} on {engine.backend} has nothing to compile ahead of time; "
            f"it loads and runs ({seconds:.1f} s)"
        )
    return 0
