"""``python BUNDLE.zip COMMAND`` and ``python DIR/procvision-deploy.pyz COMMAND``: parse, dispatch, report.

Exit statuses: 0 done, 1 failed (the error names its contract code when one applies), 2 usage error,
3 the root stayed locked longer than ``--wait``, 130/143 interrupted (Ctrl-C / SIGTERM).
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

from . import __version__
from . import bundle_files as layout
from .errors import (EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE, DeployError, Terminated,
                     DeployUsageError)
from .locking import DEFAULT_WAIT_S
from .output import Output
from .root import Root

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse  # imported when a call needs it
    from pathlib import Path  # imported when a call needs it (install, info and verify of a bundle)
    from typing import Any, Sequence, Union

    #: What a command gets: argparse's Namespace, or the quick parser's namespace with the same attributes.
    Arguments = Union[argparse.Namespace, SimpleNamespace]
    import signal as _signal
else:
    import _signal  # signal.py without its enums, whose making is a fiftieth of an `activate`
#: The root tool's frequent calls: (positionals, their names, options only this command takes).
_QUICK = {"activate": (("name", "version"), {"--pid": "append", "--force": "flag"}),
          "rollback": ((), {"--pid": "store"})}
_QUICK_COMMON = {"--root": "store", "--wait": "float", "--json": "flag", "-q": "flag", "--quiet": "flag",
                 "-v": "flag", "--verbose": "flag"}
_DESTINATIONS = {"-q": "quiet", "-v": "verbose"}


def quick_arguments(argv: Sequence[str]) -> SimpleNamespace | None:
    """``activate`` and ``rollback`` parsed without argparse (whose import and parsers cost these calls a fifth
    of their time); None for anything argparse might read differently: it parses those, and every error."""
    tokens = list(argv)
    values: dict[str, Any] = {"root": None, "wait": DEFAULT_WAIT_S, "json": False, "quiet": False, "verbose": False}
    command = None
    positionals: list[str] = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        options = _QUICK_COMMON if command is None else {**_QUICK_COMMON, **_QUICK[command][1]}
        if token in options:
            kind, key = options[token], _DESTINATIONS.get(token, token.lstrip("-"))
            if kind == "flag":
                values[key] = True
                index += 1
                continue
            if index + 1 == len(tokens) or tokens[index + 1].startswith("-"):
                return None
            value = tokens[index + 1]
            if kind == "float":
                try:
                    values[key] = float(value)
                except ValueError:
                    return None
            elif kind == "append":
                values.setdefault(key, []).append(value)
            else:
                values[key] = value
            index += 2
        elif token.startswith("-") or (command is None and token not in _QUICK):
            return None
        elif command is None:
            command = token
            index += 1
        else:
            positionals.append(token)
            index += 1
    if command is None or len(positionals) != len(_QUICK[command][0]) or "pid" not in values:
        return None
    values.update(zip(_QUICK[command][0], positionals))
    if command == "activate":
        values.setdefault("force", False)
    return SimpleNamespace(command=command, **values)

class Context:
    """Where this run comes from: a bundle, the root tool, or a source tree (``archive`` None)."""

    def __init__(self, archive: str | None, bundle: bool) -> None:  # no dataclass: its import costs `activate`
        self.archive, self.bundle = archive, bundle

    def root(self, args: Arguments) -> Root:
        if args.root:
            return Root(args.root)
        if self.archive is not None and not self.bundle:
            return Root(os.path.dirname(self.archive))  # the root tool manages the root it lives in
        raise DeployUsageError(f"{args.command} needs --root DIR (the deployment root)")

    def bundle_path(self) -> Path:
        if not self.bundle or self.archive is None:
            raise DeployUsageError("install needs a bundle: python BUNDLE.zip install --root DIR (this is the root tool)")
        from pathlib import Path

        return Path(self.archive)


def _is_bundle(archive: str | None) -> bool:
    if archive is None or os.path.basename(archive) == layout.ROOT_TOOL:
        return False  # the common case of the root tool costs no zipfile import
    from .tool import is_bundle

    return is_bundle(archive)


def _names(args: Arguments) -> tuple[str | None, str | None]:
    if bool(args.name) != bool(args.version):
        raise DeployUsageError(f"{args.command} takes NAME and VERSION together (see `list`)")
    return args.name, args.version


# Each command imports only the modules it needs: `activate` from the root tool stays fast.

def _install(args: Arguments, context: Context, out: Output) -> int:
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


def _info(args: Arguments, context: Context, out: Output) -> int:
    from . import status

    name, version = _names(args)
    if context.bundle and not name:
        out.result(*status.bundle_info(context.bundle_path()), always=True)
    elif not name or not version:
        raise DeployUsageError("info needs NAME VERSION of an installed version (see `list`)")
    else:
        out.result(*status.installed_info(context.root(args), name, version), always=True)
    return EXIT_OK


def _verify(args: Arguments, context: Context, out: Output) -> int:
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


def _list(args: Arguments, context: Context, out: Output) -> int:
    from .status import list_root

    out.result(*list_root(context.root(args)), always=True)
    return EXIT_OK


def _activate(args: Arguments, context: Context, out: Output) -> int:
    from .manage import activate

    record = activate(context.root(args), args.name, args.version, args.pid, force=args.force, wait=args.wait,
                      out=out)
    pids = ", ".join(change["pid"] for change in record["pids"])
    out.result(record, [f"activated {record['name']} {record['version']} for {pids}"])
    return EXIT_OK


def _rollback(args: Arguments, context: Context, out: Output) -> int:
    from .manage import rollback

    record = rollback(context.root(args), args.pid, wait=args.wait, out=out)
    out.result(record, [f"{args.pid} rolled back to {record['to']['name']} {record['to']['version']}"])
    return EXIT_OK


def _uninstall(args: Arguments, context: Context, out: Output) -> int:
    from .manage import uninstall

    record = uninstall(context.root(args), args.name, args.version, wait=args.wait, out=out)
    out.result(record, [f"uninstalled {record['name']} {record['version']}"])
    return EXIT_OK


def _gc(args: Arguments, context: Context, out: Output) -> int:
    from .manage import gc

    record = gc(context.root(args), keep=args.keep, dry_run=args.dry_run, wait=args.wait, out=out)
    verb = "would remove" if args.dry_run else "removed"
    out.result(record, [f"{verb} {len(record['removed'])} version(s) and {len(record['leftovers'])} leftover(s)"])
    return EXIT_OK


COMMANDS = {"install": _install, "verify": _verify, "info": _info, "list": _list, "activate": _activate,
            "rollback": _rollback, "uninstall": _uninstall, "gc": _gc}


def dispatch(args: Arguments, archive: str | None, out: Output) -> int:
    """Run one parsed command; returns the exit status."""
    return COMMANDS[args.command](args, Context(archive, _is_bundle(archive)), out)


def _parse(prog: str, argv: Sequence[str]) -> Arguments:
    from .arguments import build_parser, named_command

    return build_parser(prog, named_command(argv)).parse_args(argv)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; never raises (bar SystemExit from --help and --version)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    archive = layout.running_archive()
    prog = f"python {os.path.basename(archive)}" if archive is not None else "python -m procvision_build.deploy"
    out = Output(json="--json" in argv, quiet="-q" in argv or "--quiet" in argv)
    try:
        args = quick_arguments(argv) or _parse(prog, argv)
        if not args.command:
            from .arguments import COMMAND_NAMES

            raise DeployUsageError(f"a command is needed: {', '.join(COMMAND_NAMES)} (see {prog} --help)")
    except DeployUsageError as error:
        out.error(error)
        return EXIT_USAGE
    out = Output(json=args.json, quiet=args.quiet, verbose=args.verbose)
    try:
        previous = _signal.signal(_signal.SIGTERM, _on_sigterm)
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
            _signal.signal(_signal.SIGTERM, previous)


def run() -> None:
    """``python BUNDLE.zip``, the root tool and ``-m``: :func:`main`, then leave without the interpreter's
    teardown, which takes a tenth of an ``activate``. Every file a command writes is closed before it returns;
    the output is flushed here."""
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nowhere left to say anything
            status = status or EXIT_FAILED
    os._exit(status)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush does not fail on the closed pipe."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _trace(args: Arguments) -> None:
    if args.verbose:
        import traceback

        traceback.print_exc()
