"""The install's smoke test: the SDK's own ``check`` in the new venv starts the adapter as a runner would,
completes the hello exchange and shuts it down; its JSON record becomes a ``Hello`` or a 2005.

Protocol v1 has one codec, the SDK's (docs/protocol.md): this module only reads the record of
``python -m procvision_algorithm_sdk check --json``, run as a child so that the SDK stays in its venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
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


class Handshake:
    """The check, running: started at once (by the thread that will wait for it: Linux ties a child to the thread
    that started it), so the import check can run beside it; ``result`` waits, ``stop`` (or leaving its ``with``
    on an exception) kills it."""

    def __init__(self, python: Path, directory: Path, hello_timeout: float = HELLO_TIMEOUT_S,
                 write_bytecode: bool = True, bytecode_cache: Path | None = None) -> None:
        env = {key: value for key, value in os.environ.items() if key.upper() not in ("PYTHONPATH", "PYTHONHOME")}
        if bytecode_cache is not None:  # shared with the import check, removed by the install
            env["PYTHONPYCACHEPREFIX"] = str(bytecode_cache)
        elif not write_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"  # inherited by the adapter the check starts
        self._python, self._limit = python, hello_timeout + SHUTDOWN_TIMEOUT_S + CHECK_MARGIN_S
        self._outcome: tuple[str, str] | BaseException | None = None
        try:
            self._process = children.start(check_command(python, hello_timeout), cwd=str(directory), env=env,
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                           text=True, errors="replace")
        except OSError as error:
            raise _failure(f"cannot start {python}: {error}", None, []) from None
        self._waiter = threading.Thread(target=self._wait, name="handshake", daemon=True)
        self._waiter.start()

    def _wait(self) -> None:
        try:
            self._outcome = self._process.communicate(timeout=self._limit)
        except BaseException as error:  # noqa: BLE001 - handed to result()
            self._outcome = error

    def __enter__(self) -> "Handshake":
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is not None:  # a failure, here or beside it: nothing may keep running in the version directory
            self.stop()

    def stop(self) -> None:
        """Kill the check and the adapter it started (an install that failed meanwhile)."""
        if self._process.poll() is None:
            children.kill_tree(self._process)
        self._waiter.join()

    def result(self) -> Hello:
        """The adapter's hello; 2005 with its stderr when the check failed or outlived its time."""
        self._waiter.join()
        outcome = self._outcome
        if isinstance(outcome, subprocess.TimeoutExpired):
            self.stop()
            raise _failure(f"the SDK's check did not end within {self._limit:g} s", None, [])
        if isinstance(outcome, BaseException) or outcome is None:
            self.stop()
            raise DeployError(f"the SDK's check could not be read: {outcome}", ErrorCode.INSTALL_FAILED)
        stdout, stderr = outcome
        record = _record(stdout)
        if record is None:  # the check itself failed: an SDK without `check --json`, or one that does not import
            tail = stderr.splitlines()[-TAIL_LINES:]
            raise _failure(f"`python -m {SDK_MODULE} check --json` gave no result (the SDK in the venv does not "
                           "import, or predates check --json)", self._process.returncode, tail)
        tail = [_readable(line) for line in record.get("stderr_tail") or []][-TAIL_LINES:]
        if not record.get("ok"):
            raise _failure(_problem(record), record.get("exit_code"), tail, record.get("traceback"))
        hello = record.get("hello") or {}
        algorithm = hello.get("algorithm") or {}
        return Hello(str(hello.get("sdk_version")), str(algorithm.get("name")), str(algorithm.get("version")),
                     float(record.get("seconds") or 0.0))


def smoke_handshake(python: Path, directory: Path, hello_timeout: float = HELLO_TIMEOUT_S,
                    write_bytecode: bool = True, bytecode_cache: Path | None = None) -> Hello:
    """Start the adapter in ``directory``, exchange hellos, shut it down cleanly; 2005 with its stderr otherwise.
    Without ``write_bytecode`` (an install with --no-compile) neither the check nor the adapter leaves a ``.pyc``
    in the venv (with ``bytecode_cache`` they write it there instead)."""
    with Handshake(python, directory, hello_timeout, write_bytecode, bytecode_cache) as running:
        return running.result()


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
