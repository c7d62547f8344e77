"""Algorithm side of protocol v1: ``python -m procvision_algorithm_sdk.adapter [--entry module:Class]``.

The main thread reads frames and answers ``ping`` at once; one worker thread runs the
algorithm's calls, so a slow ``execute`` never silences the heartbeat. See docs/protocol.md.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, BinaryIO, Mapping

# Nothing here imports algorithm code; main() moves stdout aside before anything does.
from procvision_algorithm_sdk import _platform, __version__, protocol
from procvision_algorithm_sdk._json import json_copy
from procvision_algorithm_sdk.base import BaseAlgorithm
from procvision_algorithm_sdk.errors import ErrorCode, FatalError, ProcVisionError, ProgramError, error_result
from procvision_algorithm_sdk.inputs import check_image_meta, check_pid, check_user_params, find_step
from procvision_algorithm_sdk.loading import (  # loading's public names stay importable from here
    MAX_TRACEBACK_CHARS,
    START_STAGES,
    StartFailure,
    check_info,
    exception_result,
    import_entry,
    load,
    locate,
    start_error_frame,
)
from procvision_algorithm_sdk.logger import StructuredLogger, set_log_context
from procvision_algorithm_sdk.results import validate_result
from procvision_algorithm_sdk.session import Session
from procvision_algorithm_sdk.shared_memory import release_cached_segments

__all__ = ["Adapter", "EOF_GRACE_S", "EXIT_ABANDONED", "EXIT_FAILED", "EXIT_FATAL", "EXIT_GRACE_S",
           "MAX_TRACEBACK_CHARS", "START_STAGES", "StartFailure", "check_info", "exception_result",
           "import_entry", "load", "locate", "main", "start_error_frame"]

#: How long end of stdin waits for a running call before the process leaves without teardown.
EOF_GRACE_S = 3.0
#: How long a normal exit may wait for threads the algorithm left running (under the runner's kill_after).
EXIT_GRACE_S = 2.0
#: Exit codes: 1 start or protocol failure, 2 a FatalError (or SystemExit) in a call, 3 runner gone mid-call.
EXIT_FAILED, EXIT_FATAL, EXIT_ABANDONED = 1, 2, 3
_DEFAULT_SESSION = "default"
_CAPABILITIES: protocol.Capabilities = {
    "methods": list(protocol.METHODS),
    "max_frame_bytes": protocol.MAX_FRAME_BYTES,
    "image_encodings": ["raw", "jpeg", "png"],
    "color_spaces": ["RGB", "BGR", "GRAY"],
}

log = StructuredLogger("procvision.adapter")


class Adapter:
    """Serves one loaded algorithm over a frame stream pair until shutdown or end of input."""

    def __init__(self, algorithm: BaseAlgorithm, manifest: Mapping[str, Any], frames_in: BinaryIO,
                 frames_out: BinaryIO, max_frame_bytes: int = protocol.MAX_FRAME_BYTES) -> None:
        self._algorithm = algorithm
        self._manifest = manifest
        self._in = frames_in
        self._out = protocol.FrameWriter(frames_out, max_frame_bytes)
        self._max = max_frame_bytes
        # _state guards _busy; a result is sent while holding it, so the next call never sees a stale busy.
        self._state = threading.Condition()
        self._busy = False
        self._calls: queue.SimpleQueue[protocol.CallFrame | None] = queue.SimpleQueue()
        self._session: Session | None = None
        self._open_steps: set[Any] = set()
        self._torn_down = False
        self._teardown_lock = threading.Lock()  # the reader (shutdown, end of input) and a fatal call race

    def serve(self) -> int:
        """Hello, then frames until ``shutdown`` (exit code 0) or end of input."""
        self.send(protocol.hello_frame(self._manifest, __version__, _CAPABILITIES))
        handshake = self._handshake()
        if handshake is not None:
            return handshake
        threading.Thread(target=self._work, name="procvision-call", daemon=True).start()
        try:
            while True:
                frame = self._next_frame()
                if frame is None:
                    return self._runner_gone()
                kind = frame["type"]
                if kind == "ping":
                    self.send({"type": "pong", "request_id": frame.get("request_id"), "busy": self._busy})
                elif kind == "call":
                    self._accept(frame)
                elif kind == "shutdown":
                    return self._shutdown(frame.get("request_id"))
                else:
                    self.send(protocol.error_frame(ErrorCode.PROTOCOL_ERROR, f"unknown frame type {kind!r}; "
                                                   "expected ping, call or shutdown", frame.get("request_id")))
        finally:
            self._calls.put(None)

    def send(self, message: protocol.AdapterFrame) -> None:
        """Write one frame; a runner that went away is noticed by the reader at end of input, not here.

        A result that cannot be encoded raises ``ProtocolError`` (the worker answers that itself); any other
        reply that cannot (a pong echoing a request_id near the frame limit) becomes a 1008 error frame."""
        try:
            sent = self._out.send(message)
        except protocol.ProtocolError as error:
            if message.get("type") == "result":
                raise
            sent = self._out.send(protocol.error_frame(
                ErrorCode.PROTOCOL_ERROR, f"the reply to a frame cannot be sent: {error}; keep request_id short"))
        if not sent:
            log.warning("cannot write a frame: the runner is gone", frame_type=message.get("type"))

    def _next_frame(self) -> protocol.ReceivedFrame | None:
        """The next well-formed frame; bad ones are answered 1008 and skipped; None at end of input."""
        while True:
            try:
                return protocol.read_frame(self._in, self._max)
            except protocol.ProtocolError as error:
                if error.truncated:
                    return None
                self.send(protocol.error_frame(ErrorCode.PROTOCOL_ERROR, str(error), error.request_id))

    def _handshake(self) -> int | None:
        """Wait for the runner's hello; None when it came, else the exit code."""
        while True:
            frame = self._next_frame()
            if frame is None:
                return self._runner_gone()
            if frame["type"] != "hello":
                self.send(protocol.error_frame(
                    ErrorCode.PROTOCOL_ERROR,
                    f"handshake: expected the runner's hello, got {frame['type']!r}", frame.get("request_id")))
                continue
            if frame.get("protocol") != protocol.PROTOCOL_VERSION:
                self.send(protocol.error_frame(
                    ErrorCode.PROTOCOL_ERROR, f"runner speaks protocol {frame.get('protocol')!r}; this adapter "
                    f"speaks {protocol.PROTOCOL_VERSION}: use a runner and SDK of the same protocol version"))
                self._teardown()
                return EXIT_FAILED
            log.debug("handshake complete", runner_version=frame.get("runner_version"),
                      heartbeat_interval_ms=frame.get("heartbeat_interval_ms"))
            return None

    def _accept(self, frame: protocol.ReceivedFrame) -> None:
        request_id = frame.get("request_id")
        method = frame.get("method")
        if method not in protocol.METHODS:
            self.send(protocol.error_frame(ErrorCode.PROTOCOL_ERROR, f"unknown method {method!r}; expected one "
                                           f"of {', '.join(protocol.METHODS)}", request_id))
            return
        params = frame.get("params", {})
        if not isinstance(params, dict):
            self.send(protocol.error_frame(ErrorCode.PROTOCOL_ERROR, "call params must be an object", request_id))
            return
        with self._state:
            if self._busy:
                self.send(protocol.error_frame(ErrorCode.PROTOCOL_ERROR, "a call is already running: send one "
                                               "call at a time and wait for its result", request_id))
                return
            self._busy = True
        self._calls.put({"type": "call", "request_id": request_id, "method": method, "params": params})

    def _work(self) -> None:
        while True:
            frame = self._calls.get()
            if frame is None:
                return
            method = frame["method"]
            started = time.perf_counter()
            fatal = False
            try:
                result = self._call(method, frame["params"])
            except (FatalError, SystemExit) as error:
                log.exception(f"{method} ended the algorithm: the adapter exits")
                result, fatal = exception_result(error), True
            except BaseException as error:  # noqa: BLE001 - nothing may stop the worker
                log.exception(f"{method} raised {type(error).__name__}")
                result = exception_result(error)
            latency = round((time.perf_counter() - started) * 1000.0, 3)
            reply = protocol.result_frame(frame["request_id"], method, result, latency, exiting=fatal)
            with self._state:
                if not fatal:  # a fatal call stays busy: a shutdown now waits for the worker's exit
                    self._busy = False
                try:
                    self.send(reply)
                except protocol.ProtocolError as error:  # too large: say so instead of going silent
                    problem = error_result(ErrorCode.INVALID_PARAMS, f"{method} result cannot be sent: {error}")
                    reply = protocol.result_frame(frame["request_id"], method, problem, latency, exiting=fatal)
                    self.send(reply)
                self._state.notify_all()
            if fatal:
                self._teardown()
                _exit_now(EXIT_FATAL)

    def _call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Run one call in the contract's order; input problems answer before the algorithm runs."""
        algorithm = self._algorithm
        try:
            session = self._session_for(params.get("session"))
            step_index = params.get("step_index")
            set_log_context(session_id=session.id, step_index=step_index)
            if method == "reset":
                return self._reset(session)
            pid = params.get("pid")
            check_pid(pid, self._manifest.get("supported_pids") or [])
            user_params = check_user_params(find_step(self._manifest.get("steps") or [], step_index),
                                            params.get("user_params"))
            image_meta = params.get("image_meta")
            if image_meta is not None:
                image_meta = check_image_meta(image_meta)
            shared_mem_id = params.get("shared_mem_id") or ""
            if not isinstance(shared_mem_id, str):
                raise ProgramError(f"shared_mem_id must be a string, got {shared_mem_id!r}",
                                   ErrorCode.INVALID_PARAMS)
        except (FatalError, SystemExit):
            raise
        except ProcVisionError as error:
            return exception_result(error)
        except Exception as error:
            log.exception(f"{method} failed before the algorithm ran")
            return exception_result(error)

        if step_index not in self._open_steps:
            _, failed = self._run_hook("on_step_start", step_index, session, session.context)
            if failed is not None:
                return failed
            self._open_steps.add(step_index)
        algorithm.diagnostics.clear()
        # the algorithm gets its own image_meta: rects are checked against the image as the runner described it
        given_meta = None if image_meta is None else dict(image_meta)
        value, result = self._run_hook(method, step_index, pid, session, user_params, shared_mem_id, given_meta)
        if result is None:
            published = algorithm.diagnostics.get() if len(algorithm.diagnostics) else None  # most calls: none
            check = validate_result(method, value, image_meta, debug=published)
            for warning in check.warnings:
                log.warning(warning, method=method)
            result = check.result
        if method == "execute" or result["status"] == "ERROR":
            self._open_steps.discard(step_index)
            # a copy: what the hook does to it must not change the validated result that is sent
            mine = json_copy(result, "result", lambda part, where, kind: part)  # JSON already: a cheap deep copy
            self._run_hook("on_step_finish", step_index, session, mine)  # when it raises, the result stands
        return result

    def _reset(self, session: Session) -> dict[str, Any]:
        """The algorithm's ``reset`` sees the abandoned attempt's state; then it is emptied, so no value
        of that attempt (a counter, a partial verdict) reaches the next call with the same id."""
        self._open_steps.clear()
        _, failed = self._run_hook("reset", session)
        for key in session.keys():  # in place: an algorithm that kept the Session object sees it empty too
            session.delete(key)
        return failed or {"status": "OK", "message": "", "error_code": None, "data": {}}

    def _run_hook(self, name: str, *args: Any) -> tuple[Any, dict[str, Any] | None]:
        """``(return value, None)``, or ``(None, ERROR result)`` when the algorithm's ``name`` raised.

        ``FatalError`` and ``SystemExit`` pass through: the worker ends the process for them.
        """
        try:
            return getattr(self._algorithm, name)(*args), None
        except (FatalError, SystemExit):
            raise
        except Exception as error:
            log.exception(f"{name} raised {type(error).__name__}")
            return None, exception_result(error)

    def _session_for(self, raw: Any) -> Session:
        """The state for the call's session id; a new id starts an empty state."""
        if raw is None:
            raw = {"id": _DEFAULT_SESSION}
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise ProgramError("params.session must be an object {id, context} with a non-empty string id",
                               ErrorCode.INVALID_PARAMS)
        if self._session is None or self._session.id != raw["id"]:
            context = raw.get("context")
            self._session = Session(raw["id"], context if isinstance(context, dict) else {})
            self._open_steps.clear()
        return self._session

    def _shutdown(self, request_id: Any) -> int:
        with self._state:
            while self._busy:  # the contract: finish the running call first
                self._state.wait()
        error = self._teardown()
        self.send(protocol.shutdown_reply(request_id, None if error is None else
                                          error_result(ErrorCode.UNKNOWN_ERROR, f"teardown() raised {error}")))
        return 0 if error is None else EXIT_FAILED

    def _runner_gone(self) -> int:
        """End of input: the runner died or closed us. Teardown unless a call is still running."""
        with self._state:
            deadline = time.monotonic() + EOF_GRACE_S
            while self._busy and time.monotonic() < deadline:
                self._state.wait(deadline - time.monotonic())
            if self._busy:
                log.error("the runner is gone and a call is still running: exiting without teardown")
                _exit_now(EXIT_ABANDONED)
        self._teardown()
        return 0

    def _teardown(self) -> str | None:
        """Run ``teardown()`` once (a second caller waits for the first); the error text when it raised."""
        with self._teardown_lock:
            if self._torn_down:
                return None
            self._torn_down = True
            try:
                self._algorithm.teardown()
            except Exception as error:
                log.exception("teardown raised")
                return f"{type(error).__name__}: {error}"
            finally:
                release_cached_segments()
            return None


def _exit_now(code: int) -> None:
    """Leave from any thread, without waiting for a worker that may never return."""
    for stream in (sys.stderr, sys.stdout):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(code)


class _OneWriterAtATime:
    """stderr (and print's stdout) for every thread of the adapter, one write at a time: CPython's TextIOWrapper
    has lost text when threads write while one flushes into a full pipe (gh-118138, gh-119506; seen on 3.13.0)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self._stream.write(text)

    def writelines(self, lines: Any) -> None:
        with self._lock:
            self._stream.writelines(lines)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """Entry of ``python -m procvision_algorithm_sdk.adapter``."""
    frames_in, frames_out = _platform.detach_stdio()  # before any algorithm code can write to stdout
    sys.stderr = sys.stdout = _OneWriterAtATime(sys.stderr)
    parser = argparse.ArgumentParser(prog="python -m procvision_algorithm_sdk.adapter",
                                     description="Serve a ProcVision algorithm over protocol v1 on stdin/stdout.")
    parser.add_argument("--entry", metavar="module:Class",
                        help="the algorithm class (default: entry_point of ./manifest.json)")
    parser.add_argument("--manifest", type=Path, metavar="PATH",
                        help="development: read the manifest from PATH; the working directory stays the "
                             "algorithm root (a project source tree, as `procvision validate` runs it)")
    args = parser.parse_args(argv)
    reader = open(frames_in, "rb", buffering=1 << 16)
    writer = open(frames_out, "wb", buffering=0)
    started = time.perf_counter()
    try:
        algorithm, manifest = load(args.entry, Path.cwd(), args.manifest)
    except StartFailure as failure:
        protocol.FrameWriter(writer).send(start_error_frame(failure))
        return _leaving(EXIT_FAILED)
    log.info("algorithm ready", entry=args.entry or manifest.get("entry_point"),
             startup_ms=round((time.perf_counter() - started) * 1000.0, 1))
    return _leaving(Adapter(algorithm, manifest, reader, writer).serve())


def _leaving(code: int) -> int:
    """``code``, with a watchdog: a non-daemon thread the algorithm started must not keep the process
    (and its GPU memory) alive after teardown, least of all when the runner is gone."""
    watchdog = threading.Timer(EXIT_GRACE_S, _exit_now, (code,))
    watchdog.daemon = True  # runs while the interpreter waits for the other threads at exit
    watchdog.start()
    return code


if __name__ == "__main__":
    sys.exit(main())
