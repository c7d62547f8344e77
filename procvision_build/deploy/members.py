"""Which zip member names are safe to extract anywhere: no absolute paths, no ``..``, no links, no tricks.

A name is checked as stored (``orig_filename``: zipfile cuts ``filename`` at a NUL and turns backslashes into
slashes on Windows) and as Windows and POSIX would both read it, so a bundle that is safe here is safe on the
factory PC.
"""

from __future__ import annotations

import re
import stat
import unicodedata
import zipfile
from typing import Iterable

_DRIVE = re.compile(r"^[A-Za-z]:")
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$", re.IGNORECASE)


def unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    """Why this member must not be extracted, or None when it is a plain relative file or directory."""
    name = info.orig_filename
    if not name:
        return "it has an empty name"
    if any(ord(character) < 32 for character in name):
        return "its name holds a control character"
    if "\\" in name:
        return "its name holds a backslash (a path separator on Windows)"
    if name.startswith("/"):
        return "it is an absolute path"
    if _DRIVE.match(name) or ":" in name:
        return "its name holds a drive letter or a colon (an absolute path or a stream on Windows)"
    parts = name.rstrip("/").split("/") if name.endswith("/") else name.split("/")
    for part in parts:
        if part == "..":
            return "it contains '..'"
        if part in ("", "."):
            return "it contains an empty or '.' path component"
        if part != part.rstrip(" ."):
            return f"its component {part!r} ends in a space or a dot (Windows drops them)"
        if _RESERVED.match(part):
            return f"its component {part!r} is a device name on Windows"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "it is a symbolic link"
    if mode and stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return "it is neither a file nor a directory"
    if info.flag_bits & 0x1:
        return "it is encrypted"
    return None


def unsafe_members(infos: Iterable[zipfile.ZipInfo]) -> list[tuple[str, str]]:
    """(member name as stored, reason) of every unsafe or duplicate member, in zip order, then shadowed parents.

    Duplicates count as Windows and macOS see them: the same name up to case and Unicode normalization.
    """
    found: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    files: set[str] = set()
    for info in infos:
        reason = unsafe_reason(info)
        if reason:
            found.append((info.orig_filename, reason))
            continue
        key = unicodedata.normalize("NFC", info.orig_filename.rstrip("/")).casefold()
        if key in seen:
            found.append((info.orig_filename, f"it appears twice in the zip (also as {seen[key]!r})"))
            continue
        seen[key] = info.orig_filename
        if not info.is_dir():
            files.add(key)
    for key, name in seen.items():
        parts = key.split("/")
        for depth in range(1, len(parts)):
            if "/".join(parts[:depth]) in files:
                found.append((name, f"its parent {'/'.join(name.split('/')[:depth])!r} is a file in the zip"))
                break
    return found


def first_unsafe(infos: Iterable[zipfile.ZipInfo]) -> tuple[str, str] | None:
    """(member name, reason) of the first unsafe or duplicate member, else None."""
    return next(iter(unsafe_members(infos)), None)
