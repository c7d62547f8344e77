"""``python BUNDLE.zip COMMAND`` and ``python DIR/procvision-deploy.pyz COMMAND``: parse, dispatch, report.

Exit statuses: 0 done, 1 failed (the error names its contract code when one applies), 2 usage error,
3 the root stayed locked longer than ``--wait``, 130/143 interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, NoReturn, Sequence

from . import __version__
from . import bundle_files as layout
from .errors import (EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE, DeployError, Terminated, UsageError)
from .output import Output
from .root import Root

DEFAULT_WAIT_S = 60.0


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line through our own error path (no usage block, no exit)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


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


def _root(args: argparse.Namespace, archive: Path | None, bundle: bool) -> Root:
    if args.root:
        return Root(args.root)
    if archive is not None and not bundle:
        return Root(archive.parent)  # the root tool manages the root it lives in
    raise UsageError(f"{args.command} needs --root DIR (the deployment root)")


def _pair(args: argparse.Namespace) -> tuple[str | None, str | None]:
    if bool(args.name) != bool(args.version):
        raise UsageError(f"{args.command} takes NAME and VERSION together (see `list`)")
    return args.name, args.version


def _is_bundle(archive: Path | None) -> bool:
    if archive is None or archive.name == layout.ROOT_TOOL:
        return False  # the common case of the root tool costs no zipfile import
    from .tool import is_bundle

    return is_bundle(archive)


def dispatch(args: argparse.Namespace, archive: Path | None, out: Output) -> int:
    """Run one parsed command; returns the exit status."""
    bundle = _is_bundle(archive)
    command = args.command
    if command == "install":
        if not bundle:
            raise UsageError("install needs a bundle: python BUNDLE.zip install --root DIR (this is the root tool)")
        from .install import install

        root = _root(args, archive, bundle)
        record = install(archive, root, force=args.force, wait=args.wait, out=out)  # type: ignore[arg-type]
        pid = record["supported_pids"][0]
        out.result(record, [f"installed {record['name']} {record['version']} in {record['directory']}",
                            f"next: python {root.tool_path} activate {record['name']} {record['version']} --pid {pid}"])
        return 0
    if command in ("info", "verify"):
        from . import status, verify

        name, version = _pair(args)
        if bundle and not name and (command == "info" or not args.root):
            record, lines = (status.bundle_info if command == "info" else verify.verify_bundle)(archive)  # type: ignore[operator]
            out.result(record, lines, always=True)
            return 0
        root = _root(args, archive, bundle)
        if command == "info":
            if not name:
                raise UsageError("info needs NAME VERSION of an installed version (see `list`)")
            out.result(*status.installed_info(root, name, version), always=True)  # type: ignore[arg-type]
            return 0
        record, lines, ok = verify.verify_root(root, name, version)
        out.result(record, lines, always=True)
        if not ok:
            raise verify.integrity_failure(record)
        return 0
    root = _root(args, archive, bundle)
    if command == "list":
        from .status import list_root

        out.result(*list_root(root), always=True)
        return 0
    from . import manage  # each command imports only what it needs: activate stays fast

    if command == "activate":
        record = manage.activate(root, args.name, args.version, args.pid, force=args.force, wait=args.wait, out=out)
        out.result(record, [f"activated {record['name']} {record['version']} for "
                            f"{', '.join(change['pid'] for change in record['pids'])}"])
    elif command == "rollback":
        record = manage.rollback(root, args.pid, wait=args.wait, out=out)
        out.result(record, [f"{args.pid} rolled back to {record['to']['name']} {record['to']['version']}"])
    elif command == "uninstall":
        record = manage.uninstall(root, args.name, args.version, wait=args.wait, out=out)
        out.result(record, [f"uninstalled {record['name']} {record['version']}"])
    elif command == "gc":
        record = manage.gc(root, keep=args.keep, dry_run=args.dry_run, wait=args.wait, out=out)
        verb = "would remove" if args.dry_run else "removed"
        out.result(record, [f"{verb} {len(record['removed'])} version(s) and {len(record['leftovers'])} leftover(s)"])
    return 0


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
            raise UsageError(f"a command is needed: install, verify, info, list, activate, rollback, uninstall, gc "
                             f"(see {prog} --help)")
    except UsageError as error:
        out.error(error)
        return EXIT_USAGE
    out = Output(json=args.json, quiet=args.quiet, verbose=args.verbose)
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        return dispatch(args, archive, out)
    except DeployError as error:
        _trace(args)
        out.error(error)
        return error.exit_status
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
        return 1
    except Exception as error:  # noqa: BLE001 - a bug must still end in one line, not a traceback
        _trace(args)
        out.error(DeployError(f"internal error: {type(error).__name__}: {error}; run again with --verbose and "
                              f"report the traceback ({layout.PACKAGE_NAME} {__version__})"))
        return 1
    finally:
        if in_main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _trace(args: argparse.Namespace) -> None:
    if args.verbose:
        traceback.print_exc()
