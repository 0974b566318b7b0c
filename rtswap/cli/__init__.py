"""The ``rtswap`` command line: ``main()`` and the table of commands, one module each
(``add_parser(sub, parents)`` declares it, ``run(args) -> int`` runs it)."""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence

from rtswap.errors import RtswapError

COMMANDS = ("demo", "swap", "live", "serve", "identity", "engines", "bench")
"""In the order ``--help`` lists them; each is the module ``rtswap.cli.<name>``."""

_DESCRIPTION = """\
Real-time face swap. Every output rtswap writes is marked as synthetic: a visible
label in the corner (turn off with --no-label) and a metadata tag in the file.
Use it only with the consent of the people whose faces you use."""


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
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub, [quiet])
    return parser


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


_LIVE_FILES = ("--input", "--output")
"""``live``'s flags for its files, which ``swap`` takes as they are (``swap --source S IN OUT``)."""


def _swap_meant(args: argparse.Namespace, argv: list[str]) -> str:
    """The swap command meant by one written with ``live``'s ``--input``/``--output``."""
    flagged = {flag: _flag_value(argv, flag) for flag in _LIVE_FILES}
    loose = [str(f) for f in (args.input, args.output) if f is not None and str(f) not in flagged.values()]
    files = [flagged[flag] or (loose.pop(0) if loose else flag[2:].upper()) for flag in _LIVE_FILES]
    faces = [f"--source {face}" for face in args.source or ["FACE"]]
    return " ".join(["rtswap swap", *faces, *files])


def _flag_value(argv: list[str], flag: str) -> str | None:
    """What follows ``flag`` in ``argv`` (``flag VALUE`` or ``flag=VALUE``), if it is there."""
    for k, arg in enumerate(argv):
        if arg == flag and k + 1 < len(argv):
            return argv[k + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "swap" and any(arg.split("=")[0] in _LIVE_FILES for arg in extra):
        meant = _swap_meant(args, list(sys.argv[1:] if argv is None else argv))
        print(
            f"rtswap: error: swap takes its input and output without --input/--output: {meant}",
            file=sys.stderr,
        )
        return 1
    if extra and args.command == "swap" and not args.source and not args.map:
        # `rtswap swap face.jpg in.jpg out.jpg`: the face was meant as --source
        meant = f"rtswap swap --source {args.input} {args.output} {' '.join(extra)}"
        print(f"rtswap: error: give the face to put in with --source: {meant}", file=sys.stderr)
        return 1
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.INFO, format="rtswap: %(message)s")
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (a service manager, `kill`) stops as Ctrl-C does: a live run ends cleanly and its
        # recording is finalised; offline work is abandoned without leaving partial files
        signal.signal(signal.SIGTERM, _interrupt)
    try:
        code: int = importlib.import_module(f"{__name__}.{args.command}").run(args)
        return code
    except RtswapError as exc:
        print(f"rtswap: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rtswap: interrupted", file=sys.stderr)
        return 130
