"""Reference host side of protocol v1: start the adapter, handshake, heartbeat, calls, restarts.

``Runner`` is what an inspection platform (or a test, or ``procvision run``) uses to drive
one algorithm in a child process. A hang, a crash or a bad frame never hangs the runner:
a lost call is answered ERROR 1005 (timeout) or 1009 (process exited) and the next call
gets a fresh process, at most ``max_restarts`` times in ``restart_window`` seconds.
The child process lives in ``runner_child``; what a runner answers with in ``runner_results``.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, cast

from procvision_algorithm_sdk import _platform, __version__, protocol
from procvision_algorithm_sdk.errors import ErrorCode
from procvision_algorithm_sdk.runner_child import Child, clip, pipe, request_ids
from procvision_algorithm_sdk.runner_results import AlgorithmFailedError, CallResult, LogLine, RunnerError, StartupError

if TYPE_CHECKING:  # numpy and shared memory load with the first image: `check` and `hello` need neither
    import numpy as np

    from procvision_algorithm_sdk.shared_memory import ImageWriter, SharedImage

__all__ = ["ADAPTER_MODULE", "AlgorithmFailedError", "CallResult", "LogLine", "Runner", "RunnerError",
           "StartupError"]

ADAPTER_MODULE = "procvision_algorithm_sdk.adapter"


class Runner:
    """Drives one algorithm in a child process. Every timing is in seconds and overridable."""

    def __init__(
        self,
        python: str | os.PathLike[str] = sys.executable,
        cwd: str | os.PathLike[str] = ".",
        *,
        entry: str | None = None,
        env: Mapping[str, str] | None = None,
        on_stderr: Callable[[LogLine], None] | None = None,
        startup_timeout: float = 30.0,
        heartbeat_interval: float | None = 5.0,
        heartbeat_grace: float = 2.0,
        missed_pongs: int = 2,
        pre_execute_timeout: float = 10.0,
        execute_timeout: float = 30.0,
        reset_timeout: float = 10.0,
        kill_after: float = 3.0,
        max_restarts: int = 3,
        restart_window: float = 60.0,
        shutdown_timeout: float = 10.0,
        stderr_lines: int = 40,
        max_frame_bytes: int = protocol.MAX_FRAME_BYTES,
        die_with_caller: bool = False,
    ) -> None:
        self.command = [str(python), "-m", ADAPTER_MODULE] + (["--entry", entry] if entry else [])
        self.cwd = Path(cwd)
        self.env = dict(env) if env is not None else None
        self.on_stderr = on_stderr
        self.startup_timeout = startup_timeout
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_grace = heartbeat_grace
        self.missed_pongs = missed_pongs
        self.timeouts = {"pre_execute": pre_execute_timeout, "execute": execute_timeout, "reset": reset_timeout}
        self.kill_after = kill_after
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.shutdown_timeout = shutdown_timeout
        self.max_frame_bytes = max_frame_bytes
        # Linux: the kernel kills the adapter when the thread that started it ends (for one-shot callers
        # such as ``check``, whose death must not leave an adapter behind; a thread pool's would kill it).
        self.die_with_caller = die_with_caller
        self.shutdown_problem: str | None = None  # why the last shutdown() was not clean; None when it was
        self._tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._lock = threading.RLock()  # one call (or start, or shutdown) at a time
        self._child: Child | None = None
        self._hello: protocol.HelloFrame | None = None
        self._spawned = False
        self._restarts: collections.deque[float] = collections.deque()
        self._failed: AlgorithmFailedError | None = None
        self._closed = False
        self._images: ImageWriter | None = None  # made at the first image: numpy loads only then

    # -- state ----------------------------------------------------------------------------

    @property
    def hello(self) -> protocol.HelloFrame | None:
        """The current process's ``hello`` frame (protocol, sdk_version, algorithm, capabilities)."""
        return self._hello

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.alive() else None

    @property
    def failed(self) -> AlgorithmFailedError | None:
        """The error of the failed state, or None while the runner still restarts the algorithm."""
        return self._failed

    @property
    def stderr_tail(self) -> list[str]:
        return list(self._tail)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> protocol.HelloFrame:
        """Start the algorithm process (leaving the failed state) and complete the handshake; returns its hello."""
        with self._lock:
            self._check_open()
            self._failed = None
            self._restarts.clear()
            if self._child is not None and self._child.alive():
                assert self._hello is not None
                return self._hello
            return self._spawn()

    def shutdown(self) -> int | None:
        """Ask the adapter to finish, run ``teardown()`` and exit; stop it if it does not. Returns its exit code."""
        with self._lock:
            if self._closed:
                return None
            self._closed = True
            child, self._child = self._child, None
            code = None
            try:
                if child is not None:
                    code = self._stop_gracefully(child)
            finally:
                if self._images is not None:
                    self._images.close()
            return code

    def __enter__(self) -> "Runner":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # -- calls ------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        image: np.ndarray | bytes | SharedImage | None = None,
        timeout: float | None = None,
    ) -> CallResult:
        """Run ``method`` (``pre_execute``, ``execute``, ``reset``) with ``params``; never hangs past ``timeout``.

        ``image`` (uint8 array, or JPEG/PNG bytes) is written to shared memory for this call
        and given back after it; ``shared_mem_id`` and ``image_meta`` are filled in.
        Raises ``AlgorithmFailedError`` in the failed state.
        """
        if method not in protocol.METHODS:
            raise ValueError(f"method must be one of {protocol.METHODS}, not {method!r}")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
        params = dict(params or {})
        with self._lock:
            self._check_open()
            try:
                child = self._ensure_child()
            except StartupError as error:
                return CallResult(method, "ERROR", f"the algorithm process could not start: {error.message}",
                                  str(error.error_code))
            shared = None
            try:
                if image is not None:
                    shared = self._shared(image)
                    meta = dict(shared.image_meta)
                    given = params.get("image_meta") or {}
                    meta.update((k, given[k]) for k in ("camera_id", "timestamp_ms") if k in given)
                    params["shared_mem_id"], params["image_meta"] = shared.shared_mem_id, meta
                return self._exchange(child, method, params,
                                      self.timeouts[method] if timeout is None else timeout)
            finally:
                if shared is not None and shared is not image:
                    shared.close()

    def _shared(self, image: np.ndarray | bytes | SharedImage) -> SharedImage:
        """``image`` in shared memory: as given, or written into a segment this runner owns."""
        from procvision_algorithm_sdk.shared_memory import ImageWriter, SharedImage

        if isinstance(image, SharedImage):
            return image
        if self._images is None:
            self._images = ImageWriter()
        return self._images.write(image)

    def _exchange(self, child: Child, method: str, params: dict[str, Any], timeout: float) -> CallResult:
        request_id = next(request_ids)
        waiter = child.expect(request_id)
        child.calling = request_id
        started = time.perf_counter()
        try:
            child.send({"type": "call", "request_id": request_id, "method": method, "params": params})
        except protocol.ProtocolError:  # params that are not JSON, or too large: the caller's to fix
            child.pending.pop(request_id, None)
            raise
        try:
            if not waiter.wait(timeout):
                child.pending.pop(request_id, None)
                child.stop(ErrorCode.TIMEOUT, f"{method} did not answer within {timeout:g} s; "
                           f"the algorithm process (pid {child.pid}) was stopped")
        finally:
            child.calling = None
        round_trip = (time.perf_counter() - started) * 1000.0
        frame = waiter.frame
        if frame is None:
            child.stop()
            code, message = child.failure or (
                ErrorCode.PROCESS_EXITED,
                f"the algorithm process (pid {child.pid}) {child.exit_description()} during {method}")
            return CallResult(method, "ERROR", message, str(code), round_trip_ms=round_trip)
        if frame["type"] == "error":
            return CallResult(method, "ERROR", _text(frame.get("message")) or "protocol error",
                              str(_known_code(frame.get("error_code") or ErrorCode.PROTOCOL_ERROR)),
                              round_trip_ms=round_trip)
        problem = _malformed_result(frame, method)
        if problem is not None:  # a hostile or broken adapter: this call fails, the process goes on serving
            self._note(f"[runner] bad result frame from pid {child.pid}: {problem}")
            return CallResult(method, "ERROR", f"the algorithm process (pid {child.pid}) sent a result frame "
                              f"that breaks protocol v1: {problem}", str(ErrorCode.PROTOCOL_ERROR),
                              round_trip_ms=round_trip)
        result = _checked_result(frame)
        if result.get("exiting"):  # a FatalError: the adapter leaves right after this result
            child.stop(grace=self.kill_after)
        return CallResult(method, result["status"], result["message"] or "", result["error_code"],
                          result["data"] or {}, result["latency_ms"], round_trip)

    # -- processes --------------------------------------------------------------------------

    def _ensure_child(self) -> Child:
        if self._failed is not None:
            raise self._failed
        child = self._child
        if child is not None and child.alive():
            return child
        if child is not None:
            if not child.stopping.is_set():  # a stopped one was reaped, or cannot be
                child.stop()
            self._child = None
        if self._spawned:  # every process after the first is a restart
            now = time.monotonic()
            while self._restarts and now - self._restarts[0] > self.restart_window:
                self._restarts.popleft()
            if len(self._restarts) >= self.max_restarts:
                self._failed = AlgorithmFailedError(
                    f"the algorithm process died {len(self._restarts) + 1} times within "
                    f"{self.restart_window:g} s ({len(self._restarts)} restarts); it is marked failed: "
                    "fix the algorithm, then call start()", ErrorCode.PROCESS_EXITED, self._tail,
                    None if child is None else child.process.returncode)
                raise self._failed
            self._restarts.append(now)
        self._spawn()
        assert self._child is not None
        return self._child

    def _spawn(self) -> protocol.HelloFrame:
        self._spawned = True
        self._hello = None
        try:
            process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                       **_platform.child_popen_options(self.die_with_caller))
        except OSError as error:
            raise StartupError(f"cannot start {self.command[0]} in {self.cwd}: {error}",
                               ErrorCode.PROCESS_EXITED) from None
        child = Child(self, process)
        try:
            waited = child.hello.wait(self.startup_timeout)
        except BaseException:  # Ctrl-C while the algorithm loads: it must not outlive this start()
            child.stop()
            raise
        frame = child.hello.frame
        failure: tuple[ErrorCode, str] | None = None
        told: dict[str, str | None] = {}  # what the adapter's error frame says as data
        if not waited:
            failure = (ErrorCode.TIMEOUT, f"the algorithm sent no hello within {self.startup_timeout:g} s")
        elif frame is None:
            failure = (ErrorCode.PROCESS_EXITED, "the algorithm process ended before its hello")
        elif frame["type"] == "error":
            told = {key: _text(frame.get(key)) for key in ("stage", "missing_module", "traceback")}
            told["reason"] = _text(frame.get("message")) or "the algorithm failed to start"
            failure = (_known_code(frame.get("error_code")), f"start failed: {told['reason']}")
        elif frame.get("protocol") != protocol.PROTOCOL_VERSION:
            failure = (ErrorCode.PROTOCOL_ERROR, f"the adapter speaks protocol {frame.get('protocol')!r}, this "
                       f"runner {protocol.PROTOCOL_VERSION}: install a matching procvision-algorithm-sdk")
        elif not child.send({"type": "hello", "protocol": protocol.PROTOCOL_VERSION, "runner_version": __version__,
                             "heartbeat_interval_ms": int((self.heartbeat_interval or 0) * 1000),
                             "heartbeat_grace_ms": int(self.heartbeat_grace * 1000)}):
            failure = (ErrorCode.PROCESS_EXITED, "the algorithm process ended during the handshake")
        if failure is not None:
            exit_code = child.stop(grace=self.kill_after if frame is not None else 0.0)
            raise StartupError(f"{failure[1]} ({' '.join(self.command)} in {self.cwd}, exit code {exit_code})",
                               failure[0], self._tail, exit_code, problem=failure[1], **told)
        assert frame is not None
        hello = cast(protocol.HelloFrame, frame)  # a hello of protocol 1; its other fields are the adapter's word
        child.start_heartbeat()
        self._child, self._hello = child, hello
        return hello

    def _stop_gracefully(self, child: Child) -> int | None:
        alive = child.alive()
        child.stopping.set()  # no more pings
        problem = "the algorithm process ended before shutdown"
        if alive:
            request_id = next(request_ids)
            waiter = child.expect(request_id)
            if child.send({"type": "shutdown", "request_id": request_id}):
                if not waiter.wait(self.shutdown_timeout):
                    problem = f"the algorithm did not answer shutdown within {self.shutdown_timeout:g} s"
                elif waiter.frame is None:
                    problem = "the algorithm process ended without answering shutdown"
                elif waiter.frame.get("status") != "OK":
                    problem = f"shutdown answered {clip(waiter.frame.get('status'))}: " \
                              f"{_text(waiter.frame.get('message')) or 'no message'}"
                    self._note(f"[runner] shutdown answered {waiter.frame}")
                else:
                    problem = ""
        try:
            pipe(child.process.stdin).close()  # end of input: an adapter that missed the shutdown tears down too
        except (OSError, ValueError):
            pass
        code = child.stop(grace=self.kill_after)
        if not problem and code != 0:
            problem = f"the algorithm process exited {code} after shutdown"
        self.shutdown_problem = problem or None
        return code

    def _check_open(self) -> None:
        if self._closed:
            raise RunnerError("this runner was shut down; create a new Runner", ErrorCode.PROCESS_EXITED)

    def _forward(self, line: LogLine) -> None:
        self._tail.append(line.text)
        if self.on_stderr is not None:
            try:
                self.on_stderr(line)
            except Exception:  # a broken callback must not stop the stderr reader
                pass

    def _note(self, text: str) -> None:
        self._tail.append(text)



def _malformed_result(frame: Mapping[str, Any], method: str) -> str | None:
    """What is wrong with a ``result`` frame's fields (CONTRACT.md section 5), or None."""
    if frame["type"] != "result":
        return f"a {clip(frame['type'])} frame answered the call; expected result or error"
    if frame.get("method") != method:
        return f"method {clip(frame.get('method'))} answers a {method} call"
    if frame.get("status") not in ("OK", "ERROR"):
        return f"status {clip(frame.get('status'))}; expected \"OK\" or \"ERROR\""
    checks = (("message", (str, type(None))), ("error_code", (str, type(None))), ("data", (dict, type(None))),
              ("latency_ms", (int, float, type(None))))
    for key, kinds in checks:
        value = frame.get(key)
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"{key} is {clip(value)}; expected {' or '.join(k.__name__ for k in kinds)}"
    return None


def _checked_result(frame: protocol.ReceivedFrame) -> protocol.ResultFrame:
    """A ``result`` frame that ``_malformed_result`` passed, typed; a field another adapter left out is null."""
    result: protocol.ResultFrame = {
        "type": "result", "request_id": frame.get("request_id"), "method": frame["method"], "status": frame["status"],
        "message": frame.get("message"), "error_code": frame.get("error_code"), "data": frame.get("data"),
        "latency_ms": frame.get("latency_ms")}
    if frame.get("exiting"):
        result["exiting"] = True
    return result


def _text(value: Any) -> str | None:
    """A frame's string field; None when absent or not a string (a field this runner cannot use)."""
    return value if isinstance(value, str) and value else None


def _known_code(value: Any) -> ErrorCode:
    """The contract code an adapter sent; 9999 for anything outside the table."""
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.UNKNOWN_ERROR
