"""The error-code table (CONTRACT.md section 7) and the exceptions an algorithm may raise.

``ErrorCode`` is the one source of truth: the adapter, the runner, the validators
and the build tools all take codes from here.
"""

from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    """Contract error codes; the value is the code string that travels in frames."""

    INVALID_PID = "1001"
    IMAGE_LOAD_FAILED = "1002"
    MODEL_NOT_FOUND = "1003"
    GPU_OOM = "1004"
    TIMEOUT = "1005"
    INVALID_PARAMS = "1006"
    COORDINATE_INVALID = "1007"
    PROTOCOL_ERROR = "1008"
    PROCESS_EXITED = "1009"
    UNKNOWN_ERROR = "9999"
    INVALID_BUNDLE = "2001"
    MANIFEST_MISSING = "2002"
    INCOMPATIBLE_PYTHON = "2003"
    WHEELS_MISSING = "2004"
    INSTALL_FAILED = "2005"
    ACTIVATION_CONFLICT = "2006"
    UNSAFE_UNINSTALL = "2007"
    INTEGRITY_ERROR = "2008"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """The contract's snake_case name, e.g. ``invalid_pid``."""
        return self.name.lower()

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]


_MEANINGS = {
    ErrorCode.INVALID_PID: "pid not in supported_pids",
    ErrorCode.IMAGE_LOAD_FAILED: "image missing, unreadable or not matching its meta",
    ErrorCode.MODEL_NOT_FOUND: "model/config/asset missing or failed to load",
    ErrorCode.GPU_OOM: "GPU memory exhausted",
    ErrorCode.TIMEOUT: "call or heartbeat timed out",
    ErrorCode.INVALID_PARAMS: "user_params or image_meta invalid, or malformed algorithm return",
    ErrorCode.COORDINATE_INVALID: "rect outside the image",
    ErrorCode.PROTOCOL_ERROR: "malformed frame, unknown type, handshake violation",
    ErrorCode.PROCESS_EXITED: "the algorithm process died during a call",
    ErrorCode.UNKNOWN_ERROR: "unexpected exception",
    ErrorCode.INVALID_BUNDLE: "corrupt zip, unsafe paths, missing files",
    ErrorCode.MANIFEST_MISSING: "no manifest.json",
    ErrorCode.INCOMPATIBLE_PYTHON: "interpreter does not match the bundle's target",
    ErrorCode.WHEELS_MISSING: "a locked wheel is absent",
    ErrorCode.INSTALL_FAILED: "pip or the smoke handshake failed",
    ErrorCode.ACTIVATION_CONFLICT: "pid not supported or bound elsewhere",
    ErrorCode.UNSAFE_UNINSTALL: "version is active",
    ErrorCode.INTEGRITY_ERROR: "a hash does not match",
}


class ProcVisionError(Exception):
    """Base of the SDK's exceptions; carries the contract error code it maps to."""

    default_code: ErrorCode = ErrorCode.UNKNOWN_ERROR

    def __init__(self, message: str, error_code: ErrorCode | str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = ErrorCode(str(error_code)) if error_code is not None else self.default_code


class RecoverableError(ProcVisionError):
    """The call failed but the algorithm can serve the next one (e.g. a bad image: 1002)."""


class FatalError(ProcVisionError):
    """The algorithm cannot go on: the call fails and the adapter exits so the runner restarts it."""


class GPUOutOfMemoryError(RecoverableError):
    """GPU memory is exhausted (1004); the runner may retry later."""

    default_code = ErrorCode.GPU_OOM

    def __init__(self, message: str = "GPU memory exhausted", error_code: ErrorCode | str | None = None) -> None:
        super().__init__(message, error_code)


class ProgramError(ProcVisionError):
    """A bug in the algorithm (wrong return shape, misuse of the SDK): 9999 unless told otherwise."""


def error_result(code: ErrorCode | str, message: str) -> dict:
    """A contract ERROR return: ``{"status": "ERROR", "message": ..., "error_code": ...}``."""
    return {"status": "ERROR", "message": message or ErrorCode(str(code)).meaning, "error_code": str(code)}
