"""Reference host side of protocol v1: start the adapter, handshake, heartbeat, calls, restarts.

``Runner`` is what an inspection platform (or a test, or ``procvision run``) uses to drive
one algorithm in a child process. A hang, a crash or a bad frame never hangs the runner:
a lost call is answered ERROR 1005 (timeout) or 1009 (process exited) and the next call
gets a fresh process, at most ``max_restarts`` times in ``restart_window`` seconds.
"""

from __future__ import annotations

import _thread
import collections
import io
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Mapping, Sequence

import numpy as np

from procvision_algorithm_sdk import _platform, __version__, protocol
from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError
from procvision_algorithm_sdk.shared_memory import ImageWriter, SharedImage

ADAPTER_MODULE = "procvision_algorithm_sdk.adapter"
_request_ids = itertools.count(1)


@dataclass(frozen=True)
class CallResult:
    """The answer to one call: the adapter's ``result`` frame, or the runner's ERROR for a lost call."""

    method: str
    status: str
    message: str = ""
    error_code: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    latency_ms: float | None = None  # the algorithm's own time, measured by the adapter
    round_trip_ms: float | None = None  # frame out to frame back, measured here

    @property
    def ok(self) -> bool:
        return self.status == "OK"

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "status": self.status, "message": self.message,
                "error_code": self.error_code, "data": self.data, "latency_ms": self.latency_ms}


@dataclass(frozen=True)
class LogLine:
    """One line the algorithm process wrote to stderr; ``record`` is set when the line is a JSON object."""

    text: str
    record: dict[str, Any] | None
    pid: int


class RunnerError(ProcVisionError):
    """The runner cannot serve; ``stderr_tail`` holds the algorithm process's last stderr lines."""

    default_code = ErrorCode.PROCESS_EXITED

    def __init__(self, message: str, error_code: ErrorCode | str | None = None,
                 stderr_tail: Sequence[str] = (), exit_code: int | None = None) -> None:
        super().__init__(message, error_code)
        self.stderr_tail = tuple(stderr_tail)
        self.exit_code = exit_code

    def __str__(self) -> str:
        if not self.stderr_tail:
            return self.message
        return self.message + "\nlast stderr lines of the algorithm process:\n" + \
            "\n".join("  " + line for line in self.stderr_tail)


class StartupError(RunnerError):
    """The algorithm process did not complete the handshake (its error frame, an exit or a timeout).

    From the adapter's error frame: ``reason`` (its message, without the command and exit code that
    ``message`` adds), ``stage`` (the load step that failed: ``manifest``, ``import``, ``class``,
    ``instantiate``, ``setup``, ``get_info``), ``missing_module`` and ``traceback``; each None when absent.
    """

    def __init__(self, message: str, error_code: ErrorCode | str | None = None,
                 stderr_tail: Sequence[str] = (), exit_code: int | None = None, *, reason: str | None = None,
                 stage: str | None = None, missing_module: str | None = None,
                 traceback: str | None = None) -> None:
        super().__init__(message, error_code, stderr_tail, exit_code)
        self.reason = reason
        self.stage = stage
        self.missing_module = missing_module
        self.traceback = traceback


class AlgorithmFailedError(RunnerError):
    """The algorithm keeps dying: restarts are exhausted until ``start()`` is called again."""


class _Waiter:
    """One expected reply; ``frame`` stays None when the process went away first.

    A bare lock instead of an Event: it costs a tenth as much, and this sits on every call's path.
    """

    __slots__ = ("_lock", "done", "frame")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self.done = False
        self.frame: dict[str, Any] | None = None

    def deliver(self, frame: dict[str, Any] | None) -> None:
        """Only ever called by one thread per waiter (the frame reader, or ``expect`` on a dead child)."""
        if not self.done:
            self.frame = frame
            self.done = True
            self._lock.release()

    def wait(self, timeout: float | None) -> bool:
        """True once delivered; False when ``timeout`` passed first."""
        if self._lock.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
            self._lock.release()  # later waits see it delivered too
            return True
        return False


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """One of the child's standard streams, all three opened as pipes (so never None)."""
    assert stream is not None
    return stream


def _raw_pipe(stream: IO[bytes] | None) -> io.RawIOBase:
    """A pipe from the child, unbuffered as ``bufsize=0`` opens it (a FileIO), to buffer once ourselves."""
    assert isinstance(stream, io.RawIOBase)
    return stream


class _Child:
    """One adapter process and the threads that read its stdout and stderr and ping it."""

    def __init__(self, runner: "Runner", process: subprocess.Popen[bytes]) -> None:
        self.runner = runner
        self.process = process
        self.pid = process.pid
        self.hello = _Waiter()
        self.pending: dict[Any, _Waiter] = {}
        self.gone = threading.Event()  # stdout ended: the process is dead or dying
        self.failure: tuple[ErrorCode, str] | None = None  # why the runner stopped it, when it did
        self.stopping = threading.Event()
        self.unkillable = False  # it outlived a kill: nobody waits for it again
        self.calling: Any = None  # the request_id of the call in flight: a bad frame fails that call
        self._out = protocol.FrameWriter(_pipe(process.stdin), runner.max_frame_bytes)
        self._threads = [
            threading.Thread(target=self._read_frames, name=f"procvision-frames-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"procvision-stderr-{self.pid}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- frames ---------------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> bool:
        """Write a frame; False when the process is gone, ``ProtocolError`` when it cannot be encoded."""
        return self._out.send(message)  # False also after stop() closed stdin

    def expect(self, request_id: Any) -> _Waiter:
        waiter = _Waiter()
        self.pending[request_id] = waiter
        # The reader may have emptied pending already; whoever pops the waiter delivers to it.
        if self.gone.is_set() and self.pending.pop(request_id, None) is not None:
            waiter.deliver(None)
        return waiter

    def _read_frames(self) -> None:
        stream = io.BufferedReader(_raw_pipe(self.process.stdout), 1 << 16)  # one read() per frame, not two
        try:
            while True:
                try:
                    frame = protocol.read_frame(stream, self.runner.max_frame_bytes)
                except protocol.ProtocolError as error:
                    if error.truncated:
                        break
                    self._bad_frame(str(error), error.request_id)
                    continue
                except (OSError, ValueError):
                    break
                if frame is None:
                    break
                self._dispatch(frame)
        finally:
            self.gone.set()
            self.hello.deliver(None)  # no-op when the hello came
            for request_id in list(self.pending):
                waiter = self.pending.pop(request_id, None)
                if waiter is not None:
                    waiter.deliver(None)
            if not self.stopping.is_set():
                self.reap(grace=self.runner.kill_after)  # no zombie, even when nobody calls again

    def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if not self.hello.done and (kind == "hello" or (kind == "error" and "request_id" not in frame)):
            self.hello.deliver(frame)
            return
        waiter = self._waiter_for(frame.get("request_id"))
        if waiter is not None:
            waiter.deliver(frame)
        elif kind == "pong":
            pass  # a pong later than the grace is already counted as missed
        elif self.calling is not None:  # nothing else may come while a call runs: that call cannot trust the stream
            self._bad_frame(f"an unexpected {_clip(kind)} frame (request_id {_clip(frame.get('request_id'))}) "
                            "during a call", None)
        else:
            self.runner._note(f"[runner] unexpected {_clip(kind)} frame from pid {self.pid}: {_clip(frame)}")

    def _waiter_for(self, request_id: Any) -> _Waiter | None:
        try:
            return self.pending.pop(request_id, None)
        except TypeError:  # an unhashable id (a list, an object): nothing of ours
            return None

    def _bad_frame(self, reason: str, request_id: Any) -> None:
        """A frame that breaks the protocol fails what it answers (the hello, or the call in flight) with 1008."""
        self.runner._note(f"[runner] bad frame from pid {self.pid}: {reason}")
        answer = {"type": "error", "error_code": str(ErrorCode.PROTOCOL_ERROR),
                  "message": f"the algorithm process (pid {self.pid}) sent a frame that breaks protocol v1: {reason}"}
        if not self.hello.done:
            self.hello.deliver(answer)
            return
        waiter = self._waiter_for(request_id) or self._waiter_for(self.calling)
        if waiter is not None:
            waiter.deliver(answer)

    def _read_stderr(self) -> None:
        stream = io.BufferedReader(_raw_pipe(self.process.stderr), 1 << 16)  # a raw pipe's readline reads byte by byte
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\r\n")
            record = None
            if text.startswith("{"):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
                record = parsed if isinstance(parsed, dict) else None
            self.runner._forward(LogLine(text, record, self.pid))

    # -- heartbeat ------------------------------------------------------------------------

    def start_heartbeat(self) -> None:
        if self.runner.heartbeat_interval:
            thread = threading.Thread(target=self._heartbeat, name=f"procvision-heartbeat-{self.pid}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _heartbeat(self) -> None:
        runner = self.runner
        missed = 0
        while not self.stopping.wait(runner.heartbeat_interval):
            request_id = next(_request_ids)
            waiter = self.expect(request_id)
            # A call's write can block on a process that reads nothing more: then the ping cannot go out,
            # which counts as a missed pong (waiting on the write would hang the heartbeat with it).
            sent = self._out.send({"type": "ping", "request_id": request_id}, timeout=runner.heartbeat_grace)
            if sent and waiter.wait(runner.heartbeat_grace) and waiter.frame is not None:
                missed = 0
                continue
            self.pending.pop(request_id, None)
            if self.stopping.is_set() or self.gone.wait(0 if sent else runner.heartbeat_grace):
                return  # after a failed write: the reader notices a dead process within the grace
            missed += 1
            if missed >= runner.missed_pongs:
                self.stop(ErrorCode.TIMEOUT, f"the algorithm process stopped answering pings ({missed} pongs "
                          f"missed, {runner.heartbeat_grace:g} s each) and was stopped")
                return

    # -- ending -----------------------------------------------------------------------------

    def alive(self) -> bool:
        return not self.stopping.is_set() and not self.gone.is_set() and self.process.poll() is None

    def stop(self, code: ErrorCode | None = None, reason: str = "", grace: float = 0.0) -> int | None:
        """Stop the process: wait ``grace`` s for it to leave, then terminate, then kill; reap it."""
        if code is not None and self.failure is None:
            self.failure = (code, reason)
            self.runner._note(f"[runner] {reason}")  # shows in the tail a failed state reports
        self.stopping.set()
        if not self.unkillable and self.reap(grace):
            for thread in self._threads:
                if thread is not threading.current_thread():
                    thread.join(timeout=2.0)
        frames, stderr = self._threads[:2]
        # A stream closed under a thread still reading it frees its descriptor number for the next
        # process's pipes, which that thread would then read from: such a stream stays open.
        for stream, reader in ((self.process.stdin, None), (self.process.stdout, frames),
                               (self.process.stderr, stderr)):
            if reader is None or not reader.is_alive():
                try:
                    _pipe(stream).close()
                except (OSError, ValueError):
                    pass
        return self.process.returncode

    def reap(self, grace: float) -> bool:
        """Wait ``grace`` s, then terminate, then kill; False when the process outlives even the kill."""
        if grace > 0 and self._ended_within(grace):
            return True
        _platform.terminate_process(self.process)
        if self._ended_within(self.runner.kill_after):
            return True
        _platform.kill_process(self.process)
        if self._ended_within(self.runner.kill_after):
            return True
        # stuck in the kernel (a driver call): waiting on would hang the runner with it
        self.runner._note(f"[runner] pid {self.pid} outlived a kill; it is left behind")
        self.unkillable = True
        # A host that keeps running (and switches versions) must not collect zombies: reap it whenever it ends.
        threading.Thread(target=self.process.wait, name=f"procvision-reaper-{self.pid}", daemon=True).start()
        return False

    def _ended_within(self, seconds: float) -> bool:
        try:
            self.process.wait(seconds)
            return True
        except subprocess.TimeoutExpired:
            return False

    def exit_description(self) -> str:
        code = self.process.poll()
        return "is still running" if code is None else f"exited with code {code}"


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
        self._tail: collections.deque[str] = collections.deque(maxlen=stderr_lines)
        self._lock = threading.RLock()  # one call (or start, or shutdown) at a time
        self._child: _Child | None = None
        self._hello: dict[str, Any] | None = None
        self._spawned = False
        self._restarts: collections.deque[float] = collections.deque()
        self._failed: AlgorithmFailedError | None = None
        self._closed = False
        self._images = ImageWriter()

    # -- state ----------------------------------------------------------------------------

    @property
    def hello(self) -> dict[str, Any] | None:
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

    def start(self) -> dict[str, Any]:
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
                    shared = image if isinstance(image, SharedImage) else self._images.write(image)
                    meta = dict(shared.image_meta)
                    given = params.get("image_meta") or {}
                    meta.update((k, given[k]) for k in ("camera_id", "timestamp_ms") if k in given)
                    params["shared_mem_id"], params["image_meta"] = shared.shared_mem_id, meta
                return self._exchange(child, method, params,
                                      self.timeouts[method] if timeout is None else timeout)
            finally:
                if shared is not None and shared is not image:
                    shared.close()

    def _exchange(self, child: _Child, method: str, params: dict[str, Any], timeout: float) -> CallResult:
        request_id = next(_request_ids)
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
        if frame.get("exiting"):  # a FatalError: the adapter leaves right after this result
            child.stop(grace=self.kill_after)
        return CallResult(method, frame["status"], frame.get("message") or "", frame.get("error_code"),
                          frame.get("data") or {}, frame.get("latency_ms"), round_trip)

    # -- processes --------------------------------------------------------------------------

    def _ensure_child(self) -> _Child:
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

    def _spawn(self) -> dict[str, Any]:
        self._spawned = True
        self._hello = None
        try:
            process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                                       **_platform.child_popen_options())
        except OSError as error:
            raise StartupError(f"cannot start {self.command[0]} in {self.cwd}: {error}",
                               ErrorCode.PROCESS_EXITED) from None
        child = _Child(self, process)
        waited = child.hello.wait(self.startup_timeout)
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
                               failure[0], self._tail, exit_code, **told)
        assert frame is not None
        child.start_heartbeat()
        self._child, self._hello = child, frame
        return frame

    def _stop_gracefully(self, child: _Child) -> int | None:
        alive = child.alive()
        child.stopping.set()  # no more pings
        if alive:
            request_id = next(_request_ids)
            waiter = child.expect(request_id)
            if child.send({"type": "shutdown", "request_id": request_id}):
                waiter.wait(self.shutdown_timeout)
                if waiter.frame is not None and waiter.frame.get("status") != "OK":
                    self._note(f"[runner] shutdown answered {waiter.frame}")
        try:
            _pipe(child.process.stdin).close()  # end of input: an adapter that missed the shutdown tears down too
        except (OSError, ValueError):
            pass
        return child.stop(grace=self.kill_after)

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
        return f"a {_clip(frame['type'])} frame answered the call; expected result or error"
    if frame.get("method") != method:
        return f"method {_clip(frame.get('method'))} answers a {method} call"
    if frame.get("status") not in ("OK", "ERROR"):
        return f"status {_clip(frame.get('status'))}; expected \"OK\" or \"ERROR\""
    checks = (("message", (str, type(None))), ("error_code", (str, type(None))), ("data", (dict, type(None))),
              ("latency_ms", (int, float, type(None))))
    for key, kinds in checks:
        value = frame.get(key)
        if not isinstance(value, kinds) or isinstance(value, bool):
            return f"{key} is {_clip(value)}; expected {' or '.join(k.__name__ for k in kinds)}"
    return None


def _clip(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to one short line: a hostile frame can be 16 MiB."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deeply>"
    return text if len(text) <= limit else text[:limit] + "..."


def _text(value: Any) -> str | None:
    """A frame's string field; None when absent or not a string (a field this runner cannot use)."""
    return value if isinstance(value, str) and value else None


def _known_code(value: Any) -> ErrorCode:
    """The contract code an adapter sent; 9999 for anything outside the table."""
    try:
        return ErrorCode(str(value))
    except ValueError:
        return ErrorCode.UNKNOWN_ERROR
