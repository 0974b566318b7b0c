"""``rtswap serve``: a web page whose camera goes in over WebRTC and comes back swapped, on this
machine or on a Ray cluster."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rtswap.cli import argtypes
from rtswap.cli.notes import note_neural_on_cpu
from rtswap.cli.options import SOURCE_HELP, add_latency_budget, add_swap, swap_config
from rtswap.config import SwapConfig
from rtswap.errors import InputError, OutputError
from rtswap.serve.timeouts import Timeouts


def add_parser(sub: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser(
        "serve",
        parents=parents,
        help="serve a web page: the browser's camera goes in over WebRTC, the swapped video comes back",
        description="Start a WebRTC server (aiohttp + aiortc; pip install -e '.[serve]'). It prints "
        "a URL with an access token: open it, allow the camera, and the swapped video "
        "plays back with its frame rate and round-trip time. Each browser tab is a "
        "session with its own pipeline; the page can upload another source face for its "
        "own session.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=argtypes.int_between(1, 65535), default=8080, help="port (default: 8080)"
    )
    serve.add_argument(
        "--token",
        default=None,
        help="access token clients must send (default: --token-file, else $RTSWAP_TOKEN, else a new "
        "random one); visible to anyone who lists processes: prefer --token-file or $RTSWAP_TOKEN",
    )
    serve.add_argument(
        "--token-file", type=Path, default=None, metavar="FILE", help="read the access token from FILE"
    )
    serve.add_argument(
        "--max-sessions",
        type=argtypes.positive_int,
        default=4,
        metavar="N",
        help="sessions at once (default: 4)",
    )
    add_latency_budget(serve)
    _add_sessions(serve)
    serve.add_argument(
        "--source",
        default=None,
        metavar="SRC",
        help=SOURCE_HELP + " (default: the sample photo of Grace Hopper; with --ray, an image)",
    )
    _add_cluster(serve)
    add_swap(serve)


def _add_sessions(serve: argparse.ArgumentParser) -> None:
    """How sessions reach the server, and when one that holds a slot without using it ends."""
    serve.add_argument(
        "--ice-server",
        action="append",
        default=[],
        metavar="URL",
        help="a STUN (stun:HOST[:PORT]) or TURN (turn:USER:PASSWORD@HOST[:PORT]) server, for peers "
        "that cannot reach this machine directly (behind NAT, another network); repeatable. By "
        "default none: browsers on this machine or its network connect without one, and no "
        "packet goes to a third party",
    )
    serve.add_argument(
        "--connect-timeout",
        type=argtypes.positive_float,
        default=Timeouts.connect_s,
        metavar="S",
        help="end a session not connected S seconds after its answer (default: %(default)g)",
    )
    serve.add_argument(
        "--frame-timeout",
        type=argtypes.positive_float,
        default=Timeouts.frames_s,
        metavar="S",
        help="end a session whose video delivers no frame for S seconds (default: %(default)g)",
    )


def _add_cluster(serve: argparse.ArgumentParser) -> None:
    cluster = serve.add_argument_group(
        "on a Ray cluster (pip install -e '.[cluster]')",
        "Sessions run on replicas of a SwapSession deployment, each holding up to --max-sessions; a new "
        "session goes to the least-loaded replica and replicas are added and removed with the load.",
    )
    cluster.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="serve from a Ray cluster: 'local' starts one on this machine for as long as rtswap runs "
        "(nothing else to set up); 'auto' uses the one this machine has joined (ray start --head / ray "
        "start --address ...); or the ADDRESS of a cluster's head",
    )
    cluster.add_argument(
        "--min-replicas",
        type=argtypes.positive_int,
        default=1,
        metavar="N",
        help="replicas at least (default: 1)",
    )
    cluster.add_argument(
        "--max-replicas",
        type=argtypes.positive_int,
        default=4,
        metavar="N",
        help="replicas at most (default: 4)",
    )
    cluster.add_argument(
        "--target-sessions",
        type=argtypes.positive_float,
        default=2.0,
        metavar="N",
        help="autoscaling keeps about N sessions per replica (default: 2)",
    )
    cluster.add_argument(
        "--gpus-per-replica",
        type=argtypes.non_negative_float,
        default=0.0,
        metavar="G",
        help="GPUs each replica reserves, e.g. 1, or 0.5 for two replicas per GPU (default: 0)",
    )


def token_of(args: argparse.Namespace) -> str | None:
    """The access token from --token-file, --token or $RTSWAP_TOKEN, in that order (None: make
    one)."""
    if args.token_file is not None:
        try:
            return args.token_file.read_text().strip() or None
        except OSError as exc:
            raise InputError(f"--token-file {args.token_file}: {exc.strerror}") from None
    return args.token or os.environ.get("RTSWAP_TOKEN") or None


def run(args: argparse.Namespace) -> int:
    try:
        from rtswap.serve.app import listen, new_token
        from rtswap.serve.app import run as run_app
    except ImportError as exc:
        raise OutputError(
            f"rtswap serve needs aiohttp and aiortc: pip install -e '.[serve]' ({exc})"
        ) from None
    from rtswap.media.samples import grace_hopper_path
    from rtswap.serve.sessions import Sessions, ice_server
    from rtswap.swapper import Swapper

    for url in args.ice_server:  # a malformed one is one line now, not at the first session
        ice_server(url)
    source = args.source or grace_hopper_path()
    config = swap_config(args)
    if args.ray is not None:
        return _run_on_ray(args, source, config)
    token = token_of(args) or new_token()
    listening = listen(args.host, args.port)  # a port in use is one line now, not after preparing
    with listening, Swapper(source, config, progress=not args.quiet) as swapper:
        note_neural_on_cpu(swapper)
        timeouts = Timeouts(args.connect_timeout, args.frame_timeout)
        core = Sessions(
            swapper.face_swap, args.max_sessions, args.label, args.latency_budget, args.ice_server, timeouts
        )
        run_app(core, listening, args.host, token)
    return 0


def _run_on_ray(args: argparse.Namespace, source: str | Path, config: SwapConfig) -> int:
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

    image = read_image(source)  # the replicas may run on other machines: they get the image
    with Swapper(image, config):  # a source without a face is one line here, not a failing replica
        pass
    cluster_config = cluster.ClusterConfig(
        max_sessions=args.max_sessions,
        min_replicas=args.min_replicas,
        max_replicas=args.max_replicas,
        target_sessions=args.target_sessions,
        gpus_per_replica=args.gpus_per_replica,
        label=args.label,
        latency_budget_ms=args.latency_budget,
        ice_servers=tuple(args.ice_server),
        timeouts=Timeouts(args.connect_timeout, args.frame_timeout),
    )
    cluster.run(args.ray, image, config, cluster_config, args.host, args.port, token_of(args) or new_token())
    return 0
