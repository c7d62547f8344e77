"""Find and read an algorithm's generated ``manifest.json`` at run time.

An *algorithm root* is a directory holding ``manifest.json`` and the assets at their
project-relative paths: the deployment directory of a bundle, or
``{dist}.dist-info/procvision/`` of an installed algorithm wheel.

The format's one codec is procvision-build's ``deploy/manifest.py``; this reader is the SDK's own, since the SDK
runs without procvision-build, and tests/deploy/test_manifest_codec.py holds the two equal.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from typing import Any

from procvision_algorithm_sdk.errors import ErrorCode, ProcVisionError

MANIFEST_NAME = "manifest.json"
ENTRY_POINT_GROUP = "procvision.algorithms"
_REQUIRED = ("name", "version", "entry_point", "supported_pids")


class ManifestError(ProcVisionError):
    """No manifest (2002), or one that cannot be read (2001)."""

    default_code = ErrorCode.MANIFEST_MISSING


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and sanity-check ``manifest.json`` at ``path``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(f"{path}: no manifest.json here; build the algorithm with procvision-build") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(f"{path}: not valid JSON ({error})", ErrorCode.INVALID_BUNDLE) from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a JSON object", ErrorCode.INVALID_BUNDLE)
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise ManifestError(f"{path}: missing {', '.join(missing)}", ErrorCode.INVALID_BUNDLE)
    return data


def installed_root(entry_point: str) -> Path | None:
    """The root shipped by the installed wheel that declares ``entry_point`` (``module:Class``)."""
    for point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if point.value.replace(" ", "") != entry_point:
            continue
        dist = getattr(point, "dist", None)
        for file in (dist.files or ()) if dist is not None else ():
            if file.name == MANIFEST_NAME and file.parent.name == "procvision" and \
                    file.parent.parent.name.endswith(".dist-info"):
                return Path(file.locate()).parent
    return None


def find_root(entry_point: str, start: Path | None = None) -> Path | None:
    """``start`` when it holds a ``manifest.json`` (a deployment), else the root of the installed wheel
    that declares ``entry_point``."""
    if start is not None and (start / MANIFEST_NAME).is_file():
        return start
    return installed_root(entry_point)
