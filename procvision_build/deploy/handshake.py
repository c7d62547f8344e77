"""The install's smoke test: start the adapter as a runner would, complete the hello exchange, shut it down.

Frames are protocol v1 (docs/protocol.md): a 4-byte big-endian length, then a UTF-8 JSON object.
"""

from __future__ import annotations

import collections
import json
import os
import queue
import struct
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from . import __version__, children
from .bundle_files import adapter_command
from .codes import ErrorCode
from .errors import DeployError
from .system_libraries import missing_library_hint

PROTOCOL_VERSION = 1
HELLO_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 10.0
KILL_AFTER_S = 3.0
MAX_FRAME_BYTES = 16 * 1024 * 1024
TAIL_LINES = 20
_HEADER = struct.Struct(">I")


@dataclass(frozen=True)
class Hello:
    """What the adapter said about itself."""

    sdk_version: str
    name: str
    version: str
    seconds: float


def _read_frame(stream: IO[bytes]) -> dict[str, Any] | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    if size == 0 or size > MAX_FRAME_BYTES:
        return {"type": "error", "message": f"the adapter sent a frame of {size} bytes"}
    payload = stream.read(size)
    if len(payload) < size:
        return None
    try:
        frame = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {"type": "error", "message": "the adapter sent a frame that is not UTF-8 JSON"}
    return frame if isinstance(frame, dict) else {"type": "error", "message": "the adapter sent a non-object frame"}


def _readable(line: str) -> str:
    """A structured log line (the SDK logs JSON objects) as ``level logger: message``; other lines as they are."""
    if not line.startswith("{"):
        return line
    try:
        record = json.loads(line)
        return f"{record.get('level', 'log')} {record.get('logger', '')}: {record['message']}".replace(" :", ":")
    except (ValueError, KeyError, TypeError, AttributeError):
        return line


def _frame(message: dict[str, Any]) -> bytes:
    payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(payload)) + payload


class _Adapter:
    """One adapter process with threads that collect its frames and its stderr tail."""

    def __init__(self, python: Path, directory: Path, env: dict[str, str]) -> None:
        self.process = children.start(adapter_command(python), cwd=str(directory), env=env,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.frames: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self._threads = [threading.Thread(target=self._read_frames, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _read_frames(self) -> None:
        assert self.process.stdout is not None
        while True:
            frame = _read_frame(self.process.stdout)
            self.frames.put(frame)
            if frame is None:
                return

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.tail.append(_readable(raw.decode("utf-8", "replace").rstrip()))

    def next_frame(self, timeout: float) -> dict[str, Any] | None:
        """The next frame; None when the adapter closed its stdout; TimeoutError when nothing came."""
        try:
            return self.frames.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None

    def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(_frame(message))
        self.process.stdin.flush()

    def stop(self, grace: float = KILL_AFTER_S) -> int:
        """Wait ``grace`` seconds for the exit, else terminate, then kill; returns the exit code."""
        for step, wait in ((lambda: None, grace), (self.process.terminate, KILL_AFTER_S),
                           (self.process.kill, KILL_AFTER_S)):
            step()
            try:
                code = self.process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            code = self.process.wait()
        for thread in self._threads:
            thread.join(1.0)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        return code


def smoke_handshake(python: Path, directory: Path, hello_timeout: float = HELLO_TIMEOUT_S,
                    write_bytecode: bool = True) -> Hello:
    """Start the adapter in ``directory``, exchange hellos, shut it down cleanly; 2005 with its stderr otherwise.
    Without ``write_bytecode`` (an install with --no-compile) the adapter leaves no ``.pyc`` behind."""
    env = {key: value for key, value in os.environ.items() if key.upper() not in ("PYTHONPATH", "PYTHONHOME")}
    if not write_bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    started = time.monotonic()
    adapter = _Adapter(python, directory, env)
    try:
        try:
            hello = adapter.next_frame(hello_timeout)
        except TimeoutError:
            raise _failure(adapter, f"the adapter sent no hello within {hello_timeout:g} s",
                           adapter.stop(grace=0)) from None
        if hello is None:
            raise _failure(adapter, "the adapter exited before its hello")
        if hello.get("type") == "error":
            raise _failure(adapter, _describe_error(hello), where=hello.get("traceback"))
        if hello.get("type") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
            raise _failure(adapter, f"the adapter's first frame is not a protocol {PROTOCOL_VERSION} hello: "
                                    f"{json.dumps(hello)[:200]}")
        seconds = time.monotonic() - started
        try:
            adapter.send({"type": "hello", "protocol": PROTOCOL_VERSION, "runner_version": __version__,
                          "heartbeat_interval_ms": 5000, "heartbeat_grace_ms": 2000})
            adapter.send({"type": "shutdown", "request_id": "install-smoke"})
        except OSError:
            raise _failure(adapter, "the adapter closed its input right after its hello") from None
        try:
            answer = adapter.next_frame(SHUTDOWN_TIMEOUT_S)
        except TimeoutError:
            raise _failure(adapter, f"the adapter did not answer shutdown within {SHUTDOWN_TIMEOUT_S:g} s",
                           adapter.stop(grace=0)) from None
        if answer is None or answer.get("type") != "shutdown" or answer.get("status") != "OK":
            detail = _describe_error(answer) if answer else "it exited without answering"
            raise _failure(adapter, f"the adapter did not shut down cleanly: {detail}")
        code = adapter.stop()
        if code != 0:
            raise _failure(adapter, f"the adapter exited {code} after shutdown", code)
    except BaseException:
        adapter.stop()
        raise
    algorithm = hello.get("algorithm") or {}
    return Hello(str(hello.get("sdk_version")), str(algorithm.get("name")), str(algorithm.get("version")), seconds)


def _describe_error(frame: dict[str, Any]) -> str:
    text = str(frame.get("message") or frame)
    if frame.get("stage"):
        text = f"stage {frame['stage']}: {text}"
    if frame.get("error_code"):
        text += f" (adapter code {frame['error_code']})"
    return text


def _failure(adapter: _Adapter, problem: str, code: int | None = None, where: Any = None) -> DeployError:
    if code is None:
        code = adapter.stop()
    tail = list(adapter.tail)
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
