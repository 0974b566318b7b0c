"""``rtswap identity add|list|rm``: sources prepared ahead of time and stored by name."""

from __future__ import annotations

import argparse
from pathlib import Path

from rtswap.cli.options import add_engine, engine_config
from rtswap.errors import InputError


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    identity = sub.add_parser(
        "identity",
        parents=parents,
        help="prepare source faces ahead of time and store them by name",
        description="Sources are prepared once (views, landmarks, head poses) and stored in the "
        "identity cache ($RTSWAP_CACHE, or the user cache folder). A stored name works "
        "anywhere --source does. Several images or a video of the person turning their "
        "head give the warp engine pose-matched views (an appearance map).",
    )
    actions = identity.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = actions.add_parser(
        "add", parents=parents, help="prepare images and/or videos and store them as NAME"
    )
    add.add_argument("name", metavar="NAME", help="letters, digits, '.', '_', '-'")
    add.add_argument("files", nargs="+", type=Path, metavar="FILE", help="images and/or videos of the face")
    add.add_argument("--force", action="store_true", help="replace an identity stored under NAME")
    add_engine(add)  # it prepares a source: nothing is swapped or labelled
    actions.add_parser("list", parents=parents, help="show stored identities")
    remove = actions.add_parser("rm", parents=parents, help="delete a stored identity")
    remove.add_argument("name", metavar="NAME")


def run(args: argparse.Namespace) -> int:
    from rtswap.identity.cache import IdentityCache, validate_name

    cache = IdentityCache()
    if args.action == "add":
        validate_name(args.name)  # the name, an identity already stored and the files, before torch
        if not args.force and cache.has(args.name):
            raise InputError(f"an identity named {args.name!r} is already stored; add --force to replace it")
        folders = [str(path) for path in args.files if path.is_dir()]
        if folders:
            raise InputError(f"{', '.join(folders)}: a folder: name its files")
        missing = [str(path) for path in args.files if not path.is_file()]
        if missing:
            raise InputError(f"no such file: {', '.join(missing)}")
        config = engine_config(args)
        from rtswap.detect.analyzer import FaceAnalyzer
        from rtswap.engines import create_engine
        from rtswap.engines.base import EngineSettings
        from rtswap.identity.store import IdentityStore

        engine = create_engine(EngineSettings.of(config))
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
