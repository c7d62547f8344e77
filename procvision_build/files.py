"""File primitives every stage shares: atomic writes, sha256, the files of a tree, TOML reading, file:// URLs.

Kept free of heavy imports (no tempfile, no urllib.request): the wheel hook imports this module.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import IO, Any, Iterator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

_TEMPORARY_NUMBERS = itertools.count()
_HEX = frozenset("0123456789abcdef")


def _create_temporary(target: Path) -> tuple[int, Path]:
    """An exclusive new file beside ``target``; a name left by a killed process is skipped."""
    while True:
        temporary = target.parent / f".{target.name}.{os.getpid()}.{next(_TEMPORARY_NUMBERS)}.tmp"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            return os.open(temporary, flags, 0o644), temporary
        except FileExistsError:
            continue


@contextmanager
def atomic_output(target: Path, durable: bool = False) -> Iterator[IO[bytes]]:
    """Write ``target`` through a temporary file in the same directory, renamed on success.

    ``durable=True`` also flushes the data to disk before the rename (for files meant to outlive a crash).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_temporary(target)
    try:
        with os.fdopen(handle, "wb") as stream:
            yield stream
            if durable:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def write_bytes_atomic(target: Path, data: bytes, durable: bool = False) -> None:
    """Replace ``target`` with ``data`` so readers see the old file or the new one, never half."""
    with atomic_output(target, durable) as stream:
        stream.write(data)


def sha256_of(path: Path) -> str:
    """The hex sha256 of a file, read in chunks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_sha256(value: str) -> bool:
    """A sha256 hex digest (any case): 64 hex digits, so also nothing that could leave a directory."""
    return len(value) == 64 and _HEX.issuperset(value.lower())


def is_hidden(relative: PurePath) -> bool:
    """A path inside a tree that builds leave out: caches and hidden files (``.git``, ``.DS_Store``)."""
    return any(part == "__pycache__" or part.startswith(".") for part in relative.parts)


def tree_files(directory: Path) -> list[tuple[str, Path]]:
    """Every file under ``directory`` that is not hidden: (relative path with "/", path), sorted."""
    found = []
    for path in Path(directory).rglob("*"):
        relative = path.relative_to(directory)
        if path.is_file() and not is_hidden(relative):
            found.append((relative.as_posix(), path))
    return sorted(found)


def read_toml(path: Path) -> dict[str, Any]:
    """A UTF-8 TOML file as a dict; raises OSError, or ValueError (bad UTF-8 or bad TOML)."""
    return tomllib.loads(Path(path).read_bytes().decode("utf-8"))


def toml_value(value: Any) -> str:
    """A TOML literal for a string, int, bool or list of those (the writer's whole vocabulary)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        # JSON's escapes are valid in TOML basic strings; TOML also forbids a raw DEL.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + "".join(f"    {toml_value(item)},\n" for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def path_from_file_url(url: str) -> Path:
    """The local path of a ``file:`` URL, as ``Path.as_uri`` writes them (Windows drives and UNC shares too)."""
    from urllib.parse import urlsplit
    from urllib.request import url2pathname  # only callers that read file:// URLs pay for urllib.request

    parts = urlsplit(url)
    path = parts.path
    if parts.netloc and parts.netloc.lower() != "localhost":
        path = f"//{parts.netloc}{path}"  # file://server/share/x: a UNC path, not /share/x
    return Path(url2pathname(path))
