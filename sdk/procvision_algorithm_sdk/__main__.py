"""``python -m procvision_algorithm_sdk``: check or call the algorithm deployed in the working directory.

    python -m procvision_algorithm_sdk check                      # start, handshake, shut down
    python -m procvision_algorithm_sdk check --json               # the same, as one JSON record (for tools)
    python -m procvision_algorithm_sdk call execute --pid p001 --step 1 --image part.png --params '{"k": 1}'

Both drive the adapter through the reference runner, exactly as the platform does;
the JSON answer goes to stdout, the algorithm's log lines to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from procvision_algorithm_sdk import __version__, protocol
from procvision_algorithm_sdk.errors import ErrorCode
from procvision_algorithm_sdk.runner import LogLine, Runner, RunnerError, StartupError


def _echo_log(line: LogLine) -> None:
    print(line.text, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m procvision_algorithm_sdk", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"procvision-algorithm-sdk {__version__}")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="the algorithm directory (default: here)")
    parser.add_argument("--entry", metavar="module:Class", help="the algorithm class when --dir has no manifest.json")
    parser.add_argument("--startup-timeout", type=float, default=30.0, metavar="SECONDS")
    parser.add_argument("--shutdown-timeout", type=float, default=10.0, metavar="SECONDS")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="start the algorithm, complete the handshake, shut it down cleanly; "
                                              "print its hello")
    check.add_argument("--json", action="store_true", help="print one JSON record, on success and on failure")
    call = commands.add_parser("call", help="run one call and print the result")
    call.add_argument("method", choices=protocol.METHODS)
    call.add_argument("--pid", required=True)
    call.add_argument("--step", type=int, default=1, help="step_index (default 1)")
    call.add_argument("--params", default="{}", help="user_params as a JSON object")
    call.add_argument("--session", default="cli", help="session id (default cli)")
    call.add_argument("--image", type=Path, help="a JPEG or PNG file to pass through shared memory")
    call.add_argument("--timeout", type=float, metavar="SECONDS", help="default: the method's contract timeout")
    args = parser.parse_args(argv)
    if args.command == "call":  # the caller's mistakes are told before any process starts
        try:
            params = {"step_index": args.step, "pid": args.pid, "session": {"id": args.session, "context": {}},
                      "user_params": json.loads(args.params)}
        except ValueError as error:
            parser.error(f"--params is not JSON: {error}")
        if args.timeout is not None and not args.timeout > 0:
            parser.error(f"--timeout must be a positive number of seconds, not {args.timeout:g}")
        try:
            image = args.image.read_bytes() if args.image else None
        except OSError as error:
            parser.error(f"--image cannot be read: {error}")

    runner = Runner(sys.executable, args.dir, entry=args.entry, on_stderr=_echo_log,
                    startup_timeout=args.startup_timeout, shutdown_timeout=args.shutdown_timeout,
                    die_with_caller=True)
    if args.command == "check":
        return _check(runner, args.json)
    try:
        runner.start()
        try:
            result = runner.call(args.method, params, image=image, timeout=args.timeout)
        except ValueError as error:  # the only argument call() can still refuse: the image bytes
            print(f"error: --image {args.image}: {error}", file=sys.stderr)
            return 1
        print(json.dumps(result.as_dict(), indent=2))
        return 0 if result.ok else 1
    except RunnerError as error:
        print(f"error {error.error_code}: {error}", file=sys.stderr)
        return 1
    finally:
        runner.shutdown()


def _check(runner: Runner, as_json: bool) -> int:
    """Start, handshake, shut down; 0 only when the algorithm said hello and exited 0 after shutdown."""
    started = time.monotonic()
    try:
        try:
            hello = runner.start()
        except StartupError as error:
            runner.shutdown()
            return _check_failed(as_json, error.error_code, error.problem, error.message, error.exit_code,
                                 runner.stderr_tail, stage=error.stage, reason=error.reason,
                                 missing_module=error.missing_module, traceback=error.traceback)
        seconds = time.monotonic() - started
        code = runner.shutdown()
    finally:
        runner.shutdown()  # after Ctrl-C too: no adapter outlives the check
    if runner.shutdown_problem:
        problem = f"the algorithm did not shut down cleanly: {runner.shutdown_problem}"
        return _check_failed(as_json, ErrorCode.PROCESS_EXITED, problem, problem, code, runner.stderr_tail,
                             hello=hello, seconds=round(seconds, 3))
    if as_json:
        print(json.dumps({"ok": True, "hello": hello, "seconds": round(seconds, 3), "exit_code": code,
                          "stderr_tail": runner.stderr_tail}))
    else:
        print(json.dumps(hello, indent=2))
    return 0


def _check_failed(as_json: bool, error_code: ErrorCode, problem: str, message: str, exit_code: int | None,
                  tail: list[str], **facts: Any) -> int:
    """Report a failed check: the JSON record (what went wrong as data, the stderr tail), or one line and the tail."""
    if as_json:
        print(json.dumps({"ok": False, "error_code": str(error_code), "problem": problem, "message": message,
                          "exit_code": exit_code, "stderr_tail": tail, **facts}))
    else:  # one line, then the tail, as every RunnerError says it
        print(f"error {error_code}: {RunnerError(message, error_code, tail)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
