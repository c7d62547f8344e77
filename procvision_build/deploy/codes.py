"""The contract's error codes (CONTRACT.md section 7), for the installer and the build tools.

The same names and values as ``procvision_algorithm_sdk.errors.ErrorCode``; a test holds them equal.
"""

from __future__ import annotations

import enum


class ErrorCode(str, enum.Enum):
    """Contract error codes; the value is the code string that travels in frames and JSON records."""

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
        """The contract's snake_case name, e.g. ``invalid_bundle``."""
        return self.name.lower()
