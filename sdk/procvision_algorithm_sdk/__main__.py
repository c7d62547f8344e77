"""``python -m procvision_algorithm_sdk``: check or call the algorithm deployed in the working directory.

    python -m procvision_algorithm_sdk check                      # start, handshake, shut down
    python -m procvision_algorithm_sdk call execute --pid p001 --step 1 --image part.png --params '{"k": 1}'

Both drive the adapter through the reference runner, exactly as the platform does;
the JSON answer goes to stdout, the algorithm's log lines to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from procvision_algorithm_sdk import __version__, protocol
from procvision_algorithm_sdk.runner import LogLine, Runner, RunnerError


def _echo_log(line: LogLine) -> None:
    print(line.text, file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m procvision_algorithm_sdk", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"procvision-algorithm-sdk {__version__}")
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="the algorithm directory (default: here)")
    parser.add_argument("--entry", metavar="module:Class", help="the algorithm class when --dir has no manifest.json")
    parser.add_argument("--startup-timeout", type=float, default=30.0, metavar="SECONDS")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="start the algorithm, complete the handshake, shut it down; print its hello")
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
                    startup_timeout=args.startup_timeout)
    try:
        hello = runner.start()
        if args.command == "check":
            print(json.dumps(hello, indent=2))
            return 0
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


if __name__ == "__main__":
    sys.exit(main())
