"""Whether ``python BUNDLE.zip`` starts on the bundle's target: CPython before 3.13 finds ``__main__.py`` with a
zipimport that reads only the classic end record (no zip64). This reads the file as that zipimport does
(``_read_directory`` of CPython 3.10 to 3.12) and says what it would miss. docs/bundles.md, "Bundles of any size".
"""

from __future__ import annotations

import struct
from pathlib import Path

from procvision_build.deploy.bundle_files import MAIN_MEMBER, PACKAGE_PREFIX

_END_SIZE = 22


def zipimport_problem(path: Path) -> str | None:
    """Why CPython 3.10 to 3.12 could not start the installer in the zip at ``path``; None when it can."""
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        if size < _END_SIZE:
            return "the file is shorter than a zip's end record"
        handle.seek(size - _END_SIZE)
        end = handle.read(_END_SIZE)
        if end[:4] != b"PK\x05\x06":
            return "the classic end record is not the last 22 bytes"
        directory_size, directory_offset = struct.unpack("<2L", end[12:20])
        position = size - _END_SIZE - directory_size
        base = position - directory_offset
        if position < 0 or base < 0:
            return "its classic end record points before the file's start (its fields are zip64's placeholders)"
        handle.seek(position)
        found: dict[str, int] = {}
        while True:
            fixed = handle.read(46)
            if fixed[:4] != b"PK\x01\x02" or len(fixed) < 46:
                break
            name_length, extra_length, comment_length = struct.unpack("<3H", fixed[28:34])
            offset = struct.unpack("<L", fixed[42:46])[0]
            if offset > directory_offset:
                return "an entry of the directory it reads lies past that directory (a zip64 offset)"
            name = handle.read(name_length).decode("utf-8", "replace")
            handle.seek(extra_length + comment_length, 1)
            found[name] = offset + base
        loader = {name: offset for name, offset in found.items()
                  if name == MAIN_MEMBER or name.startswith(PACKAGE_PREFIX)}
        if MAIN_MEMBER not in loader:
            return f"the directory it reads ({len(found)} entries) has no {MAIN_MEMBER}"
        for name, offset in loader.items():
            handle.seek(offset)
            header = handle.read(30)
            if header[:4] != b"PK\x03\x04" or handle.read(struct.unpack("<H", header[26:28])[0]) != name.encode():
                return f"{name} is not where the directory it reads says"
    return None


def before_313(python: str) -> bool:
    """``3.10`` or ``3.12.1``: true; ``3.13`` and later: false (their zipimport reads zip64)."""
    parts = python.split(".")
    try:
        return (int(parts[0]), int(parts[1])) < (3, 13)
    except (IndexError, ValueError):
        return True
