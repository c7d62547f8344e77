"""File primitives: atomic writes, sha256 of a file, renames that retry on Windows, robust tree removal.

Readers never see half a file: every write goes to a temporary name in the same directory, is flushed to
disk and renamed over the target. Files the root holds are opened only when they are regular files: a
planted link is never followed and a FIFO never blocks a reader. Paths are strings (or path-like): the root
tool's calls import no ``pathlib``, whose imports cost ``activate`` a fifth of its time on Python 3.12.
"""

from __future__ import annotations

import errno
import itertools
import os
import stat
import sys
import time

from .errors import UnsafeRootEntry

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, Callable, Union

    #: A path as these functions take it: a string, or a ``pathlib.Path`` from the modules that use one.
    StrPath = Union[str, "os.PathLike[str]"]

_NUMBERS = itertools.count()
#: Windows refuses to replace or rename a file that another process has open (a host reading a binding,
#: a virus scanner); such a refusal is retried for this long.
RETRY_SECONDS = 2.0


#: Not following a link and not waiting for a FIFO's writer (POSIX); Windows has neither flag (see open_regular).
_SAFE_FLAGS = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
#: What opening a link with O_NOFOLLOW (ELOOP), a directory for writing (EISDIR) or a reader-less FIFO for
#: writing (ENXIO) answers.
_NOT_A_FILE = (errno.ELOOP, errno.EISDIR, errno.ENXIO)


def kind_of(mode: int) -> str:
    """``a symbolic link``, ``a FIFO``...: what a non-regular file is, for messages."""
    for test, kind in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device")):
        if test(mode):
            return kind
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _not_regular(path: StrPath) -> UnsafeRootEntry:
    try:
        kind = kind_of(os.lstat(path).st_mode)
    except OSError:
        kind = "not a regular file"
    if kind == "a regular file":  # it changed while we looked: a link or reparse point in between
        kind = "not a plain file (it changed while being opened)"
    return UnsafeRootEntry(f"{path} is {kind}, not a regular file")


def open_regular(path: StrPath, flags: int = os.O_RDONLY, mode: int = 0o644, *, one_name: bool = False) -> int:
    """A descriptor of ``path`` when it is a regular file (``one_name``: and no hard link shares it, for a
    file that will be written); ``UnsafeRootEntry`` otherwise.

    POSIX opens with O_NOFOLLOW and O_NONBLOCK; Windows follows links when opening, so what was opened is
    compared with what the name itself is (``lstat``: not a link nor a reparse point, the same file).
    """
    try:
        handle = os.open(path, flags | _SAFE_FLAGS, mode)
    except OSError as error:
        if error.errno in _NOT_A_FILE:
            raise _not_regular(path) from None
        raise
    try:
        opened = os.fstat(handle)
        if not stat.S_ISREG(opened.st_mode) or (one_name and opened.st_nlink > 1):
            raise UnsafeRootEntry(f"{path} has {opened.st_nlink} names (a hard link), not one") \
                if stat.S_ISREG(opened.st_mode) else _not_regular(path)
        if os.name == "nt":
            named = os.lstat(path)
            attributes = getattr(named, "st_file_attributes", 0)
            if stat.S_ISLNK(named.st_mode) or attributes & stat.FILE_ATTRIBUTE_REPARSE_POINT or \
                    not os.path.samestat(opened, named):
                raise _not_regular(path)
    except BaseException:
        os.close(handle)
        raise
    return handle


def read_regular(path: StrPath) -> bytes:
    """The bytes of ``path`` when it is a regular file (see ``open_regular``)."""
    with os.fdopen(open_regular(path), "rb") as handle:
        return handle.read()


def sha256_file(path: StrPath) -> tuple[str, int]:
    """(hex sha256, size) of a regular file, read in chunks; ``UnsafeRootEntry`` for anything else."""
    with os.fdopen(open_regular(path), "rb") as handle:
        return sha256_of(handle)


def sha256_of(handle: BinaryIO) -> tuple[str, int]:
    """(hex sha256, size) of what ``handle`` reads from where it stands to its end, in chunks."""
    import hashlib  # here, not at the top: activate and rollback never hash (they stay fast)

    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: handle.read(1 << 20), b""):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def temporary_name(target: StrPath) -> str:
    """A name beside ``target`` that no other writer uses: ``.{name}.{pid}.{n}.tmp``."""
    directory, name = os.path.split(os.fspath(target))
    return os.path.join(directory, f".{name}.{os.getpid()}.{next(_NUMBERS)}.tmp")


def is_temporary_name(name: str) -> bool:
    """A name that ``temporary_name`` gives (left behind only by a killed writer)."""
    return name.startswith(".") and name.endswith(".tmp")


def fsync_directory(directory: StrPath) -> None:
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


def write_atomic(target: StrPath, data: bytes) -> None:
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
    fsync_directory(os.path.dirname(os.fspath(target)))


def remove_file(path: StrPath) -> None:
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


def remove_tree(path: StrPath) -> None:
    """Remove a directory tree (or a link, file or FIFO: never what a link points to) if it exists, read-only
    files included."""
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        remove_file(path)
        return
    if os.path.isdir(path):
        import shutil

        # onexc replaced onerror in 3.12 (onerror warns there); the handler takes either.
        if sys.version_info >= (3, 12):
            retry_on_windows(lambda: shutil.rmtree(path, onexc=_writable_then_retry))
        else:
            retry_on_windows(lambda: shutil.rmtree(path, onerror=_writable_then_retry))


def rename(source: StrPath, target: StrPath) -> None:
    """Rename a file or directory (target must not exist), retried while Windows holds it, made durable."""
    retry_on_windows(lambda: os.rename(source, target))
    fsync_directory(os.path.dirname(os.fspath(target)))
