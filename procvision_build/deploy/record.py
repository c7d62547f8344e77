"""The install record ``.procvision/installed.json``: every file of a version directory with size and sha256.

``verify`` compares a fresh scan with it. Bytecode caches (``__pycache__``, ``*.pyc``) are left out: Python
writes them whenever it likes. Symbolic links (a POSIX venv's ``bin/python``) are recorded by their target.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bundle_files import RECORD
from .fsutil import sha256_file, write_atomic

RECORD_VERSION = 1
Entry = dict[str, Any]  # {"size": n, "sha256": hex} or {"link": target}


def _skipped(relative: str) -> bool:
    return relative == RECORD or relative.endswith(".pyc") or "__pycache__" in relative.split("/")


def scan(directory: Path) -> dict[str, Entry]:
    """Every file and link under ``directory`` by its relative POSIX path (bytecode caches left out)."""
    found: dict[str, Entry] = {}
    pending = [directory]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                relative = Path(entry.path).relative_to(directory).as_posix()
                if _skipped(relative):
                    continue
                if entry.is_symlink():
                    found[relative] = {"link": os.readlink(entry.path)}
                elif entry.is_dir():
                    pending.append(Path(entry.path))
                else:
                    digest, size = sha256_file(Path(entry.path))
                    found[relative] = {"size": size, "sha256": digest}
    return dict(sorted(found.items()))


def write_record(directory: Path, facts: dict[str, Any]) -> dict[str, Any]:
    """Scan ``directory`` and write its record with ``facts`` (name, version, interpreter...); returns it."""
    record = {"record_version": RECORD_VERSION, **facts, "files": scan(directory)}
    target = directory / RECORD
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, (json.dumps(record, indent=1, sort_keys=False) + "\n").encode("utf-8"))
    return record


def read_record(directory: Path) -> dict[str, Any]:
    """The record of an installed version; OSError or ValueError when it is missing or unreadable."""
    record = json.loads((directory / RECORD).read_text(encoding="utf-8"))
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise ValueError(f"{directory / RECORD} is not an install record")
    return record


@dataclass
class Differences:
    """What changed in a version directory since its record was written."""

    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.missing)


def compare(recorded: dict[str, Entry], current: dict[str, Entry]) -> Differences:
    """Files whose content (or link target) differs, files that appeared and files that are gone."""
    return Differences(
        changed=sorted(path for path in recorded.keys() & current.keys() if recorded[path] != current[path]),
        added=sorted(current.keys() - recorded.keys()),
        missing=sorted(recorded.keys() - current.keys()),
    )
