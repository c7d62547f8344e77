"""One adapter process as the runner sees it: its frame and stderr readers, its heartbeat, and its end."""

from __future__ import annotations

import _thread
import io
import itertools
import json
import subprocess
import threading
from typing import IO, Any, Protocol

from procvision_algorithm_sdk import _platform, protocol
from procvision_algorithm_sdk.errors import ErrorCode
from procvision_algorithm_sdk.runner_results import LogLine

request_ids = itertools.count(1)


class ChildOwner(Protocol):
    """What a child needs from the runner that started it: timings, and where notes and stderr lines go."""

    max_frame_bytes: int
    kill_after: float
    heartbeat_interval: float | None
    heartbeat_grace: float
    missed_pongs: int

    def _note(self, text: str) -> None: ...

    def _forward(self, line: LogLine) -> None: ...


class Waiter:
    """One expected reply; ``frame`` stays None when the process went away first.

    A bare lock instead of an Event: it costs a tenth as much, and this sits on every call's path.
    """

    __slots__ = ("_lock", "done", "frame")

    def __init__(self) -> None:
        self._lock = _thread.allocate_lock()
        self._lock.acquire()
        self.done = False
        self.frame: protocol.ReceivedFrame | None = None

    def deliver(self, frame: protocol.ReceivedFrame | None) -> None:
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


def pipe(stream: IO[bytes] | None) -> IO[bytes]:
    """One of the child's standard streams, all three opened as pipes (so never None)."""
    assert stream is not None
    return stream


def raw_pipe(stream: IO[bytes] | None) -> io.RawIOBase:
    """A pipe from the child, unbuffered as ``bufsize=0`` opens it (a FileIO), to buffer once ourselves."""
    assert isinstance(stream, io.RawIOBase)
    return stream


class Child:
    """One adapter process and the threads that read its stdout and stderr and ping it."""

    def __init__(self, runner: ChildOwner, process: subprocess.Popen[bytes]) -> None:
        self.runner = runner
        self.process = process
        self.pid = process.pid
        self.hello = Waiter()
        self.pending: dict[Any, Waiter] = {}
        self.gone = threading.Event()  # stdout ended: the process is dead or dying
        self.failure: tuple[ErrorCode, str] | None = None  # why the runner stopped it, when it did
        self.stopping = threading.Event()
        self.unkillable = False  # it outlived a kill: nobody waits for it again
        self.calling: Any = None  # the request_id of the call in flight: a bad frame fails that call
        self._out = protocol.FrameWriter(pipe(process.stdin), runner.max_frame_bytes)
        self._threads = [
            threading.Thread(target=self._read_frames, name=f"procvision-frames-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"procvision-stderr-{self.pid}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # -- frames ---------------------------------------------------------------------------

    def send(self, message: protocol.RunnerFrame) -> bool:
        """Write a frame; False when the process is gone, ``ProtocolError`` when it cannot be encoded."""
        return self._out.send(message)  # False also after stop() closed stdin

    def expect(self, request_id: Any) -> Waiter:
        waiter = Waiter()
        self.pending[request_id] = waiter
        # The reader may have emptied pending already; whoever pops the waiter delivers to it.
        if self.gone.is_set() and self.pending.pop(request_id, None) is not None:
            waiter.deliver(None)
        return waiter

    def _read_frames(self) -> None:
        stream = io.BufferedReader(raw_pipe(self.process.stdout), 1 << 16)  # one read() per frame, not two
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

    def _dispatch(self, frame: protocol.ReceivedFrame) -> None:
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
            self._bad_frame(f"an unexpected {clip(kind)} frame (request_id {clip(frame.get('request_id'))}) "
                            "during a call", None)
        else:
            self.runner._note(f"[runner] unexpected {clip(kind)} frame from pid {self.pid}: {clip(frame)}")

    def _waiter_for(self, request_id: Any) -> Waiter | None:
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
        stream = io.BufferedReader(raw_pipe(self.process.stderr), 1 << 16)  # a raw pipe's readline reads byte by byte
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
            request_id = next(request_ids)
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
                    pipe(stream).close()
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


def clip(value: Any, limit: int = 120) -> str:
    """``repr(value)`` cut to one short line: a hostile frame can be 16 MiB."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deeply>"
    return text if len(text) <= limit else text[:limit] + "..."
