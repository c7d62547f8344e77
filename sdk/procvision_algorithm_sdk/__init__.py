"""procvision-algorithm-sdk: the runtime every ProcVision algorithm is written against."""

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

__version__ = "1.0.0"

__all__ = [
    "BaseAlgorithm",
    "Diagnostics",
    "ErrorCode",
    "FatalError",
    "GPUOutOfMemoryError",
    "ProcVisionError",
    "ProgramError",
    "RecoverableError",
    "Session",
    "StructuredLogger",
    "read_image_from_shared_memory",
    "validate_result",
    "__version__",
]
