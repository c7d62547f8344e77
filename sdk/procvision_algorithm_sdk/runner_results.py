"""What a ``Runner`` answers with: a call's result, the algorithm's stderr lines and the runner's errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError


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
    ``problem``: what went wrong, without the command and exit code (set for every start failure).
    """

    def __init__(self, message: str, error_code: ErrorCode | str | None = None,
                 stderr_tail: Sequence[str] = (), exit_code: int | None = None, *, reason: str | None = None,
                 stage: str | None = None, missing_module: str | None = None,
                 traceback: str | None = None, problem: str | None = None) -> None:
        super().__init__(message, error_code, stderr_tail, exit_code)
        self.problem = problem or message
        self.reason = reason
        self.stage = stage
        self.missing_module = missing_module
        self.traceback = traceback


class AlgorithmFailedError(RunnerError):
    """The algorithm keeps dying: restarts are exhausted until ``start()`` is called again."""
