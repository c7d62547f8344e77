"""The install record ``.procvision/installed.json``: every file of a version directory with size and sha256.

``verify`` compares a fresh scan with it. Bytecode is recorded too (record version 2): pip compiles every
module at install, so a ``.pyc`` that differs or appears later is code the adapter would run unchecked.
Symbolic links (a POSIX venv's ``bin/python``) are recorded by their target; anything that is neither a
file, a directory nor a link (a FIFO, a socket) by its kind, and never opened.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from .bundle_files import RECORD
from .codes import ErrorCode
from .errors import DeployError
from .fsutil import kind_of, read_regular, sha256_file, write_atomic

RECORD_VERSION = 2
#: Record version 1 (deploy tool 1.0.0) left bytecode out; its records are compared without it.
WITHOUT_BYTECODE = 1
#: Hashes taken while the files were written: normalized path -> (hex sha256, size, st_mtime_ns then).
Known = dict[str, tuple[str, int, int]]


class RecordedFile(TypedDict, total=False):
    """One entry of ``files``: ``{"size": n, "sha256": hex}``, ``{"link": target}`` or ``{"kind": "a FIFO"}``."""

    size: int
    sha256: str
    link: str
    kind: str


class RecordedBundle(TypedDict):
    """The bundle a version was installed from."""

    file: str
    sha256: str


class RecordedInterpreter(TypedDict):
    """The interpreter that ran the install (the venv's base)."""

    executable: str
    version: str
    implementation: str
    platform: str


class RecordFacts(TypedDict, total=False):
    """The record beside its files, in the file's key order; a record of an older tool may lack some of them
    (``record_version`` 1 is that of deploy tool 1.0.0, whose records leave bytecode out)."""

    record_version: int
    name: str
    version: str
    installed_at: str
    tool_version: str
    bundle: RecordedBundle
    interpreter: RecordedInterpreter
    venv_python: str
    installer: str
    handshake_seconds: float


class InstallRecord(RecordFacts):
    """``installed.json``: the facts, then every file by its relative POSIX path."""

    files: dict[str, RecordedFile]


def is_bytecode(relative: str) -> bool:
    return relative.endswith(".pyc") or "__pycache__" in relative.split("/")


def scan(directory: Path, bytecode: bool = True, known: Known | None = None) -> dict[str, RecordedFile]:
    """Every entry under ``directory`` by its relative POSIX path (the record itself left out).

    A file in ``known`` whose size and modification time are still those it was written with is not read again.
    """
    known = known or {}
    found: dict[str, RecordedFile] = {}
    prefix = len(os.path.join(str(directory), ""))
    pending = [str(directory)]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            for entry in entries:
                relative = entry.path[prefix:].replace(os.sep, "/")
                if relative == RECORD or (not bytecode and is_bytecode(relative)):
                    continue
                status = entry.stat(follow_symlinks=False)
                if stat.S_ISLNK(status.st_mode):
                    found[relative] = {"link": os.readlink(entry.path)}
                elif stat.S_ISDIR(status.st_mode):
                    pending.append(entry.path)
                elif stat.S_ISREG(status.st_mode):
                    written = known.get(os.path.normpath(entry.path))
                    if written is not None and written[1:] == (status.st_size, status.st_mtime_ns):
                        found[relative] = {"size": written[1], "sha256": written[0]}
                        continue
                    digest, size = sha256_file(Path(entry.path))
                    found[relative] = {"size": size, "sha256": digest}
                else:
                    found[relative] = {"kind": kind_of(status.st_mode)}
    return dict(sorted(found.items()))


def write_record(directory: Path, facts: RecordFacts, known: Known | None = None) -> InstallRecord:
    """Scan ``directory`` and write its record with ``facts`` (name, version, interpreter...); returns it."""
    record: InstallRecord = {"record_version": RECORD_VERSION, **facts, "files": scan(directory, known=known)}
    target = directory / RECORD
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, _encode(record).encode("utf-8"))
    return record


def _encode(record: InstallRecord) -> str:
    """The facts indented, then one line per file: json's C encoder (an indent would take its Python one, about
    a tenth of a second for a vision venv's twelve thousand files)."""
    facts = {key: value for key, value in record.items() if key != "files"}
    head = json.dumps(facts, indent=1)[:-2]  # without its closing newline and brace
    files = ",\n".join(f"  {json.dumps(path)}: {json.dumps(entry)}" for path, entry in record["files"].items())
    return f'{head},\n "files": {{\n{files}\n }}\n}}\n' if files else f'{head},\n "files": {{}}\n}}\n'


def read_record(directory: Path) -> InstallRecord:
    """The record of an installed version; OSError when it cannot be read, 2008 when it is damaged."""
    path = directory / RECORD
    try:
        record = json.loads(read_regular(path).decode("utf-8"))
        problem = _record_problem(record)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = f"not UTF-8 JSON: {error}"
    if problem:
        raise DeployError(f"the install record {path} is damaged ({problem}), so {directory} cannot be checked; "
                          "install that version again with --force (activate another version for its PIDs "
                          "first)", ErrorCode.INTEGRITY_ERROR)
    checked: InstallRecord = record
    return checked


def _record_problem(record: object) -> str | None:
    """What makes ``record`` no install record, or None: the shape ``write_record`` gives it."""
    if not isinstance(record, dict):
        return f"a JSON {type(record).__name__}, not an object"
    if not isinstance(record.get("record_version", WITHOUT_BYTECODE), int):
        return "record_version is not a number"
    files = record.get("files")
    if not isinstance(files, dict):
        return "no files object"
    for name, entry in files.items():
        if not (isinstance(entry, dict) and (
                (isinstance(entry.get("size"), int) and isinstance(entry.get("sha256"), str)) or
                isinstance(entry.get("link"), str) or isinstance(entry.get("kind"), str))):
            return f"the entry of {name} is {json.dumps(entry)[:60]}, not size and sha256, link or kind"
    return None


@dataclass
class Differences:
    """What changed in a version directory since its record was written."""

    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.added or self.missing)


def compare(recorded: dict[str, RecordedFile], current: dict[str, RecordedFile]) -> Differences:
    """Files whose content (or link target) differs, files that appeared and files that are gone."""
    return Differences(
        changed=sorted(path for path in recorded.keys() & current.keys() if recorded[path] != current[path]),
        added=sorted(path + (f" ({current[path]['kind']})" if "kind" in current[path] else "")
                     for path in current.keys() - recorded.keys()),
        missing=sorted(recorded.keys() - current.keys()),
    )
