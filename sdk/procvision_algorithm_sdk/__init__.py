"""procvision-algorithm-sdk: the runtime every ProcVision algorithm is written against.

The names below load with their module at first use (PEP 562): ``python -m procvision_algorithm_sdk check``
and the runner need no NumPy, which an install's handshake would otherwise load once more.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "1.0.0"

#: Each public name and the module that defines it.
_HOMES = {
    "BaseAlgorithm": "base",
    "Diagnostics": "diagnostics",
    "ErrorCode": "errors",
    "FatalError": "errors",
    "GPUOutOfMemoryError": "errors",
    "ProcVisionError": "errors",
    "ProgramError": "errors",
    "RecoverableError": "errors",
    "Session": "session",
    "StructuredLogger": "logger",
    "read_image_from_shared_memory": "shared_memory",
    "validate_result": "results",
}

__all__ = [*_HOMES, "__version__"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


if TYPE_CHECKING:
    from procvision_algorithm_sdk.base import BaseAlgorithm
    from procvision_algorithm_sdk.diagnostics import Diagnostics
    from procvision_algorithm_sdk.errors import (
        ErrorCode,
        FatalError,
        GPUOutOfMemoryError,
        ProcVisionError,
        ProgramError,
        RecoverableError,
    )
    from procvision_algorithm_sdk.logger import StructuredLogger
    from procvision_algorithm_sdk.results import validate_result
    from procvision_algorithm_sdk.session import Session
    from procvision_algorithm_sdk.shared_memory import read_image_from_shared_memory
