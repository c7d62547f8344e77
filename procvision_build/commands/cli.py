"""The ``procvision`` command: parses arguments, dispatches, renders errors without tracebacks."""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path
from typing import NoReturn, Sequence

from procvision_build.commands._output import add_output_options
from procvision_build.errors import BuildError, UsageError
from procvision_build.version import __version__
from procvision_build.ui import UI

# Each module in procvision_build/commands/ exposes ``register(subparsers)``; the
# parser it adds sets ``run=callable(args, ui) -> int``; the output flags are added here.
COMMANDS = ("init", "validate", "run", "lock", "build", "inspect", "diff", "migrate")


class _Parser(argparse.ArgumentParser):
    """Usage errors become a ``UsageError`` (exit status 2), rendered like every other error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="procvision",
        description="Declare, check, lock and bundle ProcVision algorithms for offline factory PCs.",
    )
    parser.add_argument("--version", action="version", version=f"procvision {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--json", action="store_true", help="machine-readable output: JSON records")
    parser.add_argument("-v", "--verbose", action="store_true", help="more detail, tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"procvision_build.commands.{name}")
        module.register(sub)
        add_output_options(sub.choices[name])  # -q, --json and -v after the subcommand too
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as error:  # before the flags are known: look for them in what was typed
        UI(json="--json" in argv).error(str(error), error.code)
        return error.exit_status
    ui = UI(quiet=args.quiet, json=args.json, verbose=args.verbose)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args.run(args, ui) or 0)
    except BuildError as error:
        if args.verbose:
            traceback.print_exc()
        ui.error(str(error), error.code)
        return error.exit_status
    except OSError as error:  # a path the user controls (cache dir, project, output) is unusable
        if args.verbose:
            traceback.print_exc()
        ui.error(f"{error}. {_path_advice(error)}; --verbose shows where it happened")
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _path_advice(error: OSError) -> str:
    """What to check: the path itself, and the cache variable only when the path is in the cache."""
    from procvision_build.store.cache import cache_root

    names = [name for name in (error.filename, error.filename2) if name]
    cache = cache_root().absolute()
    if any(Path(name).absolute().is_relative_to(cache) for name in names):
        return f"Check the cache folder {cache} and its permissions (PROCVISION_CACHE_DIR moves the cache)"
    return "Check that path and its permissions"


if __name__ == "__main__":
    sys.exit(main())
