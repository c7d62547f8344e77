"""The deploy tool's command line as argparse defines it: every command, option and help text.

``cli`` parses the root tool's frequent calls (``activate``, ``rollback``) without importing argparse; that
quick path accepts only what this parser would parse the same way (tests/deploy/test_cli.py holds the two equal).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, NoReturn, Sequence

from . import __version__
from .errors import DeployUsageError
from .locking import DEFAULT_WAIT_S


class _Formatter(argparse.HelpFormatter):
    """argparse's help, its width found as ``shutil`` would find it without importing ``shutil`` (and the
    compression modules it loads): argparse makes a formatter for every option it adds, help or not."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position, _terminal_columns() - 2 if width is None else width)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``COLUMNS``, else the terminal's width, else 80."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line through our own error path (no usage block, no exit)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise DeployUsageError(f"{message} (see {self.prog} --help)")


def _common(parser: argparse.ArgumentParser, top: bool) -> None:
    """Options accepted before and after the command (SUPPRESS: a later parser keeps an earlier value)."""
    default: Any = (lambda value: value) if top else (lambda value: argparse.SUPPRESS)
    parser.add_argument("--root", metavar="DIR", default=default(None),
                        help="the deployment root (default for the root tool: the directory it is in)")
    parser.add_argument("--wait", metavar="SECONDS", type=float, default=default(DEFAULT_WAIT_S),
                        help=f"how long to wait for another command holding the root lock (default {DEFAULT_WAIT_S:g})")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="one JSON result record on stdout; progress and errors as JSON lines on stderr")
    parser.add_argument("-q", "--quiet", action="store_true", default=default(False), help="no progress lines")
    parser.add_argument("-v", "--verbose", action="store_true", default=default(False),
                        help="a traceback with errors")


COMMAND_NAMES = ("install", "verify", "info", "list", "activate", "rollback", "uninstall", "gc")
_TAKES_VALUE = ("--root", "--wait")


def named_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names before any help option, or None (then every command's parser is built)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif token in _TAKES_VALUE:
            skip = True
        elif token in ("-h", "--help", "--version") or not token.startswith("-"):
            return token if token in COMMAND_NAMES else None
    return None


def build_parser(prog: str, only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with ``only``, just that command's (a root tool call builds one parser, not eight)."""
    parser = _Parser(prog=prog, description="Install a procvision bundle and manage a deployment root: versions, "
                                            "PID bindings, rollback. Exit status: 0 ok, 1 failed, 2 usage, 3 busy.")
    parser.add_argument("--version", action="version", version=f"procvision-deploy {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_NAMES if only is None else (only,):
        help, define = _COMMANDS[name]
        sub = commands.add_parser(name, help=help, description=help)
        _common(sub, top=False)
        define(sub)
    return parser


def _define_install(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--force", action="store_true", help="replace the same version when no PID uses it")
    sub.add_argument("--no-compile", action="store_true", help="write no bytecode (Python compiles at first import)")
    sub.add_argument("--keep-wheels", action="store_true", help="keep a copy of the wheels in the version directory")
    sub.add_argument("--no-import-check", dest="import_check", action="store_false",
                     help="do not import every installed package first (only for a package that cannot be "
                          "imported without its hardware)")


def _define_name_version(sub: argparse.ArgumentParser, optional: bool) -> None:
    nargs = "?" if optional else None
    sub.add_argument("name", nargs=nargs, metavar="NAME")
    sub.add_argument("version", nargs=nargs, metavar="VERSION")


def _define_activate(sub: argparse.ArgumentParser) -> None:
    _define_name_version(sub, optional=False)
    sub.add_argument("--pid", action="append", required=True, metavar="PID", help="a PID to bind (repeatable)")
    sub.add_argument("--force", action="store_true", help="also take PIDs bound to another algorithm")


def _define_rollback(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--pid", required=True, metavar="PID")


def _define_gc(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--keep", type=int, default=1, metavar="N", help="newest versions kept per algorithm (default 1)")
    sub.add_argument("--dry-run", action="store_true", help="only say what would be removed")


_COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None]]] = {
    "install": ("install this bundle into --root DIR (bundle only)", _define_install),
    "verify": ("re-hash installed versions against their lock and install record (from a bundle without --root: "
               "check the bundle)", lambda sub: _define_name_version(sub, optional=True)),
    "info": ("describe this bundle, or NAME VERSION installed in the root",
             lambda sub: _define_name_version(sub, optional=True)),
    "list": ("installed versions and the PIDs each is active (or previous) for", lambda sub: None),
    "activate": ("bind PIDs to an installed version", _define_activate),
    "rollback": ("bind a PID to the version it ran before", _define_rollback),
    "uninstall": ("remove an installed version that no PID runs", lambda sub: _define_name_version(sub, False)),
    "gc": ("remove versions no binding uses, keeping the newest --keep of each algorithm", _define_gc),
}
