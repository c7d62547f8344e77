"""What distribution files say (PEP 427 wheels, PEP 625 sdists): project, version, tags, METADATA."""

from __future__ import annotations

import email.parser
import email.policy
import re
from email.message import Message
from typing import Callable, Iterable, TypeVar

from packaging.tags import Tag
from packaging.utils import (InvalidSdistFilename, InvalidWheelFilename, NormalizedName, canonicalize_name,
                             parse_sdist_filename, parse_wheel_filename)
from packaging.version import Version

T = TypeVar("T")
_METADATA_MEMBER = re.compile(r"^([^/]+)\.dist-info/METADATA$")


def _name_and_version(filename: str) -> tuple[NormalizedName, Version] | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[:2]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return None


def project_of(filename: str) -> NormalizedName | None:
    """The canonical project name a wheel or sdist file belongs to; None for any other file."""
    parsed = _name_and_version(filename)
    return parsed[0] if parsed else None


def parse_wheel(filename: str) -> tuple[Version, tuple, frozenset[Tag]] | None:
    """A wheel file name's version, build tag and tags; None when it is not a valid wheel name."""
    if not filename.endswith(".whl"):
        return None
    try:
        _, version, build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    return version, build, tags


def version_of(filename: str) -> Version | None:
    """The version a wheel or sdist file name carries; None for other files."""
    parsed = _name_and_version(filename)
    return parsed[1] if parsed else None


def newest_first(items: Iterable[T], filename: Callable[[T], str]) -> list[T]:
    """``items`` ordered by the version in their file names, newest first (PEP 440 order);
    files of one version by name; names without a version last."""
    def key(item: T) -> tuple[bool, Version | None]:
        version = version_of(filename(item))
        return (version is not None, version)

    # Python's sort is stable also with reverse=True: the name order survives among equals.
    return sorted(sorted(items, key=filename), key=key, reverse=True)


def metadata_member(names: Iterable[str], filename: str) -> str | None:
    """The ``{name}-{version}.dist-info/METADATA`` member of the wheel ``filename``; None unless exactly one fits."""
    candidates = [name for name in names if _METADATA_MEMBER.match(name)]
    if len(candidates) > 1:  # vendored dist-infos: keep the one of this project
        project = project_of(filename)
        candidates = [name for name in candidates if (member := _METADATA_MEMBER.match(name))
                      and canonicalize_name(member.group(1).rsplit("-", 1)[0]) == project]
    return candidates[0] if len(candidates) == 1 else None


def parse_metadata(raw: bytes) -> Message:
    """A METADATA file's headers (Requires-Dist, Requires-Python, ...); the long description after them is skipped."""
    end = min((found for found in (raw.find(b"\n\n"), raw.find(b"\r\n\r\n")) if found >= 0), default=len(raw))
    return email.parser.BytesParser(policy=email.policy.compat32).parsebytes(raw[:end + 1], headersonly=True)
