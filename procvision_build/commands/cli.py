"""The ``procvision`` command: parses arguments, dispatches, renders errors without tracebacks."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from typing import Sequence

from procvision_build.errors import ProcvisionError
from procvision_build.ui import UI

# Each module in procvision_build/commands/ exposes ``register(subparsers)``; the
# parser it adds sets ``run=callable(args, ui) -> int``.
COMMANDS = ("init", "validate", "run", "lock", "build", "inspect", "diff", "migrate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="procvision",
        description="Declare, check, lock and bundle ProcVision algorithms for offline factory PCs.",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--json", action="store_true", help="progress and results as JSON lines")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail, tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"procvision_build.commands.{name}")
        except ModuleNotFoundError as missing:
            if missing.name != f"procvision_build.commands.{name}":
                raise
            continue  # command not written yet
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    ui = UI(quiet=args.quiet, json=args.json, verbose=args.verbose)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args, ui) or 0)
    except ProcvisionError as error:
        if args.verbose:
            traceback.print_exc()
        ui.error(str(error), error.code)
        return error.exit_status
    except OSError as error:  # a path the user controls (cache dir, project, output) is unusable
        if args.verbose:
            traceback.print_exc()
        ui.error(f"{error}. Check that path and its permissions (PROCVISION_CACHE_DIR moves the cache); "
                 "--verbose shows where it happened")
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
