"""``python BUNDLE.zip COMMAND`` and ``python DIR/procvision-deploy.pyz COMMAND``: parse, dispatch, report.

Exit statuses: 0 done, 1 failed (the error names its contract code when one applies), 2 usage error,
3 the root stayed locked longer than ``--wait``, 130/143 interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Sequence

from . import __version__
from . import bundle_files as layout
from .errors import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE, DeployError, Terminated,
                     DeployUsageError)
from .output import Output
from .root import Root

DEFAULT_WAIT_S = 60.0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line through our own error path (no usage block, no exit)."""

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


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, description="Install a procvision bundle and manage a deployment root: versions, "
                                            "PID bindings, rollback. Exit status: 0 ok, 1 failed, 2 usage, 3 busy.")
    parser.add_argument("--version", action="version", version=f"procvision-deploy {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _common(sub, top=False)
        return sub

    sub = command("install", "install this bundle into --root DIR (bundle only)")
    sub.add_argument("--force", action="store_true", help="replace the same version when no PID uses it")
    sub.add_argument("--no-compile", action="store_true", help="write no bytecode (Python compiles at first import)")
    sub.add_argument("--keep-wheels", action="store_true", help="keep a copy of the wheels in the version directory")
    sub.add_argument("--no-import-check", dest="import_check", action="store_false",
                     help="do not import every installed package first (only for a package that cannot be "
                          "imported without its hardware)")
    for name, help in (("verify", "re-hash installed versions against their lock and install record "
                                  "(from a bundle without --root: check the bundle)"),
                       ("info", "describe this bundle, or NAME VERSION installed in the root")):
        sub = command(name, help)
        sub.add_argument("name", nargs="?", metavar="NAME")
        sub.add_argument("version", nargs="?", metavar="VERSION")
    command("list", "installed versions and the PIDs each is active (or previous) for")
    sub = command("activate", "bind PIDs to an installed version")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("version", metavar="VERSION")
    sub.add_argument("--pid", action="append", required=True, metavar="PID", help="a PID to bind (repeatable)")
    sub.add_argument("--force", action="store_true", help="also take PIDs bound to another algorithm")
    sub = command("rollback", "bind a PID to the version it ran before")
    sub.add_argument("--pid", required=True, metavar="PID")
    sub = command("uninstall", "remove an installed version that no PID runs")
    sub.add_argument("name", metavar="NAME")
    sub.add_argument("version", metavar="VERSION")
    sub = command("gc", "remove versions no binding uses, keeping the newest --keep of each algorithm")
    sub.add_argument("--keep", type=int, default=1, metavar="N", help="newest versions kept per algorithm (default 1)")
    sub.add_argument("--dry-run", action="store_true", help="only say what would be removed")
    return parser


@dataclass(frozen=True)
class Context:
    """Where this run comes from: a bundle, the root tool, or a source tree (``archive`` None)."""

    archive: Path | None
    bundle: bool

    def root(self, args: argparse.Namespace) -> Root:
        if args.root:
            return Root(args.root)
        if self.archive is not None and not self.bundle:
            return Root(self.archive.parent)  # the root tool manages the root it lives in
        raise DeployUsageError(f"{args.command} needs --root DIR (the deployment root)")

    def bundle_path(self) -> Path:
        if not self.bundle or self.archive is None:
            raise DeployUsageError("install needs a bundle: python BUNDLE.zip install --root DIR (this is the root tool)")
        return self.archive


def _is_bundle(archive: Path | None) -> bool:
    if archive is None or archive.name == layout.ROOT_TOOL:
        return False  # the common case of the root tool costs no zipfile import
    from .tool import is_bundle

    return is_bundle(archive)


def _names(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if bool(args.name) != bool(args.version):
        raise DeployUsageError(f"{args.command} takes NAME and VERSION together (see `list`)")
    return args.name, args.version


# Each command imports only the modules it needs: `activate` from the root tool stays fast.

def _install(args: argparse.Namespace, context: Context, out: Output) -> int:
    bundle = context.bundle_path()  # first: the root tool refuses install before pypa/installer is looked for
    root = context.root(args)
    from .install import InstallOptions, install

    record = install(bundle, root, force=args.force, wait=args.wait, out=out,
                     options=InstallOptions(compile_bytecode=not args.no_compile, keep_wheels=args.keep_wheels,
                                            import_check=args.import_check))
    out.result(record, [f"installed {record['name']} {record['version']} in {record['directory']}",
                        f"next: python {root.tool_path} activate {record['name']} {record['version']} "
                        f"--pid {record['supported_pids'][0]}"])
    return EXIT_OK


def _info(args: argparse.Namespace, context: Context, out: Output) -> int:
    from . import status

    name, version = _names(args)
    if context.bundle and not name:
        out.result(*status.bundle_info(context.bundle_path()), always=True)
    elif not name or not version:
        raise DeployUsageError("info needs NAME VERSION of an installed version (see `list`)")
    else:
        out.result(*status.installed_info(context.root(args), name, version), always=True)
    return EXIT_OK


def _verify(args: argparse.Namespace, context: Context, out: Output) -> int:
    from . import verify

    name, version = _names(args)
    if context.bundle and not name and not args.root:
        out.result(*verify.verify_bundle(context.bundle_path()), always=True)
        return EXIT_OK
    record, lines, ok = verify.verify_root(context.root(args), name, version)
    out.result(record, lines, always=True)
    if not ok:
        raise verify.integrity_failure(record)
    return EXIT_OK


def _list(args: argparse.Namespace, context: Context, out: Output) -> int:
    from .status import list_root

    out.result(*list_root(context.root(args)), always=True)
    return EXIT_OK


def _activate(args: argparse.Namespace, context: Context, out: Output) -> int:
    from .manage import activate

    record = activate(context.root(args), args.name, args.version, args.pid, force=args.force, wait=args.wait,
                      out=out)
    pids = ", ".join(change["pid"] for change in record["pids"])
    out.result(record, [f"activated {record['name']} {record['version']} for {pids}"])
    return EXIT_OK


def _rollback(args: argparse.Namespace, context: Context, out: Output) -> int:
    from .manage import rollback

    record = rollback(context.root(args), args.pid, wait=args.wait, out=out)
    out.result(record, [f"{args.pid} rolled back to {record['to']['name']} {record['to']['version']}"])
    return EXIT_OK


def _uninstall(args: argparse.Namespace, context: Context, out: Output) -> int:
    from .manage import uninstall

    record = uninstall(context.root(args), args.name, args.version, wait=args.wait, out=out)
    out.result(record, [f"uninstalled {record['name']} {record['version']}"])
    return EXIT_OK


def _gc(args: argparse.Namespace, context: Context, out: Output) -> int:
    from .manage import gc

    record = gc(context.root(args), keep=args.keep, dry_run=args.dry_run, wait=args.wait, out=out)
    verb = "would remove" if args.dry_run else "removed"
    out.result(record, [f"{verb} {len(record['removed'])} version(s) and {len(record['leftovers'])} leftover(s)"])
    return EXIT_OK


COMMANDS = {"install": _install, "verify": _verify, "info": _info, "list": _list, "activate": _activate,
            "rollback": _rollback, "uninstall": _uninstall, "gc": _gc}


def dispatch(args: argparse.Namespace, archive: Path | None, out: Output) -> int:
    """Run one parsed command; returns the exit status."""
    return COMMANDS[args.command](args, Context(archive, _is_bundle(archive)), out)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; never raises (bar SystemExit from --help and --version)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    archive = layout.running_archive()
    prog = f"python {archive.name}" if archive is not None else "python -m procvision_build.deploy"
    out = Output(json="--json" in argv, quiet="-q" in argv or "--quiet" in argv)
    try:
        args = build_parser(prog).parse_args(argv)
        if not args.command:
            raise DeployUsageError(f"a command is needed: install, verify, info, list, activate, rollback, uninstall, gc "
                             f"(see {prog} --help)")
    except DeployUsageError as error:
        out.error(error)
        return EXIT_USAGE
    out = Output(json=args.json, quiet=args.quiet, verbose=args.verbose)
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except ValueError:  # not the main thread (main() called by a host program): no handler
        previous = None
    try:
        return dispatch(args, archive, out)
    except DeployError as error:
        _trace(args)
        out.error(error)
        return error.exit_status
    except BrokenPipeError:  # `... | head` closed the pipe: nothing left to say, and nowhere to say it
        _silence_stdout()
        return EXIT_FAILED
    except KeyboardInterrupt:
        out.error(DeployError("interrupted; the root is as it was before this command (a partial install was "
                              "removed)"))
        return EXIT_INTERRUPTED
    except Terminated:
        out.error(DeployError("terminated (SIGTERM); the root is as it was before this command"))
        return EXIT_TERMINATED
    except OSError as error:
        _trace(args)
        out.error(DeployError(f"{error}; check that path and its permissions (--verbose shows where it happened)"))
        return EXIT_FAILED
    except Exception as error:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        _trace(args)
        out.error(DeployError(f"internal error: {type(error).__name__}: {error}; run again with --verbose and "
                              f"report the traceback ({layout.PACKAGE_NAME} {__version__})"))
        return EXIT_FAILED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _trace(args: argparse.Namespace) -> None:
    if args.verbose:
        import traceback

        traceback.print_exc()
