"""File primitives: atomic writes, sha256 of a file, renames that retry on Windows, robust tree removal.

Readers never see half a file: every write goes to a temporary name in the same directory, is flushed to
disk and renamed over the target.
"""

from __future__ import annotations

import itertools
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, Callable

_NUMBERS = itertools.count()
#: Windows refuses to replace or rename a file that another process has open (a host reading a binding,
#: a virus scanner); such a refusal is retried for this long.
RETRY_SECONDS = 2.0


def sha256_file(path: Path) -> tuple[str, int]:
    """(hex sha256, size) of a file, read in chunks."""
    import hashlib  # here, not at the top: activate and rollback never hash (they stay fast)

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(1 << 20)
            if not chunk:
                break
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def temporary_name(target: Path) -> Path:
    """A name beside ``target`` that no other writer uses: ``.{name}.{pid}.{n}.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{next(_NUMBERS)}.tmp")


def is_temporary_name(name: str) -> bool:
    """A name that ``temporary_name`` gives (left behind only by a killed writer)."""
    return name.startswith(".") and name.endswith(".tmp")


def fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (POSIX; Windows has no directory handles for this)."""
    if os.name == "nt":
        return
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def retry_on_windows(action: Callable[[], Any]) -> Any:
    """Run ``action``; on Windows retry a PermissionError (a file held open elsewhere) for a moment."""
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        try:
            return action()
        except PermissionError:
            if os.name != "nt" or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def write_atomic(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` durably: readers see the old bytes or the new ones, never half."""
    temporary = temporary_name(target)
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        retry_on_windows(lambda: os.replace(temporary, target))
    except BaseException:
        remove_file(temporary)
        raise
    fsync_directory(target.parent)


def remove_file(path: Path) -> None:
    """Remove a file if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _writable_then_retry(function: Callable[[str], Any], path: str, _info: Any) -> None:
    # Windows marks some files read-only; pip and venvs leave a few behind.
    try:
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD | stat.S_IEXEC)
        function(path)
    except FileNotFoundError:
        pass


def remove_tree(path: Path) -> None:
    """Remove a directory tree (or a link or file) if it exists, read-only files included."""
    if os.path.islink(path) or os.path.isfile(path):
        remove_file(path)
        return
    if os.path.isdir(path):
        import shutil

        # onexc replaced onerror in 3.12 (onerror warns there); the handler takes either.
        if sys.version_info >= (3, 12):
            retry_on_windows(lambda: shutil.rmtree(path, onexc=_writable_then_retry))
        else:
            retry_on_windows(lambda: shutil.rmtree(path, onerror=_writable_then_retry))


def rename(source: Path, target: Path) -> None:
    """Rename a file or directory (target must not exist), retried while Windows holds it, made durable."""
    retry_on_windows(lambda: os.rename(source, target))
    fsync_directory(Path(target).parent)
