"""procvision deploy: the standard-library-only installer and root manager that every bundle carries.

Inside a bundle and in the root tool this package is ``_procvision_deploy``; it imports nothing but the
standard library and itself. The bundle writer takes the layout from ``bundle_files`` and ``requirements``;
the names below are re-exported lazily, so importing this package (the build hooks import ``codes``) loads
nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The deploy tool's own version: a root keeps the newest ``procvision-deploy.pyz`` it was given.
__version__ = "1.0.0"

_EXPORTS = {
    "MAIN_MEMBER": "bundle_files", "MAIN_STUB": "bundle_files", "PACKAGE_NAME": "bundle_files",
    "PACKAGE_PREFIX": "bundle_files", "bundle_filename": "bundle_files", "dist_name": "bundle_files",
    "package_sources": "bundle_files", "version_directory": "bundle_files", "ErrorCode": "codes",
    "PinnedWheel": "requirements", "format_line": "requirements", "format_requirements": "requirements",
    "parse_requirements": "requirements",
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """``from procvision_build.deploy import MAIN_STUB`` imports ``bundle_files`` only then (PEP 562)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
