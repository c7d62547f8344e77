"""The install's smoke test: the SDK's own ``check`` in the new venv starts the adapter as a runner would,
completes the hello exchange and shuts it down; its JSON record becomes a ``Hello`` or a 2005.

Protocol v1 has one codec, the SDK's (docs/protocol.md): this module only reads the record of
``python -m procvision_algorithm_sdk check --json``, run as a child so that the SDK stays in its venv.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import children
from .bundle_files import ADAPTER_MODULE
from .codes import ErrorCode
from .errors import DeployError
from .system_libraries import missing_library_hint

HELLO_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0
#: What the check may take beyond both timeouts (its own start, terminate and kill) before it is killed.
CHECK_MARGIN_S = 30.0
TAIL_LINES = 20
SDK_MODULE = ADAPTER_MODULE.rpartition(".")[0]


@dataclass(frozen=True)
class Hello:
    """What the adapter said about itself."""

    sdk_version: str
    name: str
    version: str
    seconds: float


def check_command(python: Path, hello_timeout: float = HELLO_TIMEOUT_S) -> list[str]:
    """The SDK's check of the algorithm in the working directory, with a JSON record on stdout."""
    return [str(python), "-m", SDK_MODULE, "--startup-timeout", f"{hello_timeout:g}",
            "--shutdown-timeout", f"{SHUTDOWN_TIMEOUT_S:g}", "check", "--json"]


def smoke_handshake(python: Path, directory: Path, hello_timeout: float = HELLO_TIMEOUT_S,
                    write_bytecode: bool = True) -> Hello:
    """Start the adapter in ``directory``, exchange hellos, shut it down cleanly; 2005 with its stderr otherwise.
    Without ``write_bytecode`` (an install with --no-compile) neither the check nor the adapter leaves a ``.pyc``."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in ("PYTHONPATH", "PYTHONHOME")}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # inherited by the adapter the check starts
    limit = hello_timeout + SHUTDOWN_TIMEOUT_S + CHECK_MARGIN_S
    try:
        done = children.run(check_command(python, hello_timeout), cwd=str(directory), env=env, timeout=limit)
    except subprocess.TimeoutExpired:
        raise _failure(f"the SDK's check did not end within {limit:g} s", None, []) from None
    except OSError as error:
        raise _failure(f"cannot start {python}: {error}", None, []) from None
    record = _record(done.stdout)
    if record is None:  # the check itself failed: an SDK without `check --json`, or one that does not import
        tail = done.stderr.splitlines()[-TAIL_LINES:]
        raise _failure(f"`python -m {SDK_MODULE} check --json` gave no result (the SDK in the venv does not "
                       "import, or predates check --json)", done.returncode, tail)
    tail = [_readable(line) for line in record.get("stderr_tail") or []][-TAIL_LINES:]
    if not record.get("ok"):
        raise _failure(_problem(record), record.get("exit_code"), tail, record.get("traceback"))
    hello = record.get("hello") or {}
    algorithm = hello.get("algorithm") or {}
    return Hello(str(hello.get("sdk_version")), str(algorithm.get("name")), str(algorithm.get("version")),
                 float(record.get("seconds") or 0.0))


def _record(stdout: str) -> dict[str, Any] | None:
    """The check's JSON record (its last stdout line), or None when there is none."""
    lines = stdout.strip().splitlines()
    try:
        record = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return record if isinstance(record, dict) and "ok" in record else None


def _problem(record: dict[str, Any]) -> str:
    """What the check says went wrong: the adapter's stage and message when it sent an error frame."""
    reason = record.get("reason")
    if not reason:
        return str(record.get("problem") or record.get("message") or "the SDK's check failed")
    text = f"stage {record['stage']}: {reason}" if record.get("stage") else str(reason)
    return text + (f" (adapter code {record['error_code']})" if record.get("error_code") else "")


def _readable(line: str) -> str:
    """A structured log line (the SDK logs JSON objects) as ``level logger: message``; other lines as they are."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
        return f"{record.get('level', 'log')} {record.get('logger', '')}: {record['message']}".replace(" :", ":")
    except (ValueError, KeyError, TypeError, AttributeError):
        return line


def _failure(problem: str, code: int | None, tail: list[str], where: Any = None) -> DeployError:
    hint = system_library_hint("\n".join(tail) + "\n" + problem)
    message = f"the installed algorithm did not start: {problem} (exit {code}); {hint}"
    detail = ["last stderr lines of the adapter:", *tail]
    frame = _algorithm_frame(where) if isinstance(where, str) else []
    if frame:
        detail += ["where the algorithm failed:", *frame]
    return DeployError(message, ErrorCode.INSTALL_FAILED, detail)


def _algorithm_frame(traceback_text: str) -> list[str]:
    """The last frame of the traceback in the venv's packages other than the SDK: the algorithm or its libraries."""
    lines = traceback_text.splitlines()
    found: list[str] = []
    for number, line in enumerate(lines):
        if line.lstrip().startswith('File "') and "site-packages" in line and "procvision_algorithm_sdk" not in line:
            found = [line.strip()] + ([lines[number + 1].strip()] if number + 1 < len(lines) else [])
    return found


def system_library_hint(text: str) -> str:
    """What to do about a start failure, when the text shows a missing system library."""
    return (missing_library_hint(text, "install again")
            or "the adapter's last stderr lines follow; fix the algorithm or its assets and rebuild the bundle")
