"""The root lock ``DIR/.procvision.lock``: one writer at a time; the others wait, saying for whom.

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows. The holder writes its PID and command into the
file so a waiter can name it, and empties the file when it lets go. The lock is opened only when it is a
regular file with one name (never through a link), so no other file is ever written or emptied.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

from .bundle_files import REMOVING_SUFFIX
from .errors import RootBusy, UnsafeRootEntry
from .fsutil import open_regular, read_regular, remove_tree, rename

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterator

#: How long a command waits for another holding the root lock, unless --wait says otherwise.
DEFAULT_WAIT_S = 60.0

POLL_S = 0.05
# Windows locks byte ranges and a locked range cannot be read: lock a byte far past the holder's note.
_WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(handle: int) -> bool:
    if sys.platform == "win32":  # not os.name: mypy checks each branch as its platform sees it
        import msvcrt

        os.lseek(handle, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(handle, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    import fcntl

    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(handle: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        os.lseek(handle, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(handle, msvcrt.LK_UNLCK, 1)
    else:
        import fcntl

        fcntl.flock(handle, fcntl.LOCK_UN)


def holder(path: Path) -> str:
    """Who holds the lock, as its note says: ``pid 4242 (procvision-deploy install ...)``."""
    try:
        note = json.loads(read_regular(path).decode("utf-8"))
        return f"pid {note['pid']} ({note['command']}, since {note['since']})"
    except (OSError, ValueError, KeyError, TypeError, UnsafeRootEntry):
        return "another process"


def _same_file(handle: int, path: Path) -> bool:
    """Whether ``path`` itself (not a link) still names the file we locked (a failed install removes its lock)."""
    try:
        return os.path.samestat(os.fstat(handle), os.lstat(path))
    except OSError:
        return False


@contextlib.contextmanager
def root_lock(path: Path, command: str, wait: float, on_wait: Callable[[str], None], *,
              create_root: bool = False) -> Iterator[None]:
    """Hold the lock at ``path`` (created if needed), waiting up to ``wait`` seconds; ``RootBusy`` after that.

    ``on_wait`` is called once, with the holder's description, when the lock is taken. ``create_root``
    (install) makes the root directory and its missing parents first. When the body fails, what this call
    created goes again, so a failed first install leaves the disk as it was: the lock file, or the outermost
    directory it made (renamed out of sight under the lock, then deleted). A waiter whose root vanished that
    way makes it again and becomes its creator once it also creates the lock file there, so concurrent first
    installs serialize and leave nothing, and never remove a root another install succeeded in.
    """
    deadline = time.monotonic() + wait
    announced = False
    made: list[tuple[Path, os.stat_result]] = []
    while True:
        if create_root:
            made += make_directories(path.parent)
        try:
            handle, created = _open(path)
        except FileNotFoundError:
            if not create_root or (os.path.lexists(path.parent) and not os.path.isdir(path.parent)):
                raise
            continue  # the root went with a failed install that made it: make it again
        if _try_lock(handle) and _same_file(handle, path):
            break
        with contextlib.suppress(OSError):
            _unlock(handle)
        os.close(handle)
        if time.monotonic() >= deadline:
            raise RootBusy(f"{path.parent} is locked by {holder(path)}; waited {wait:g} s. Try again when it is "
                           "done, or give --wait SECONDS")
        if not announced:
            on_wait(holder(path))
            announced = True
        time.sleep(POLL_S)
    failed = True
    try:
        _write_note(handle, command)
        yield
        failed = False
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(handle, 0)
        # only with the lock file this call created: a waiter that remade the root but found the lock file of
        # another install there (one that may have succeeded since) owns neither the root nor what is in it
        outermost = _outermost_made(made) if failed and created else None
        # Under the lock: a waiter that opened the old file sees that its name is gone, and retries.
        hidden = _hide(outermost) if outermost is not None and os.name != "nt" else None
        if failed and hidden is None and created and os.name != "nt":
            with contextlib.suppress(OSError):
                os.unlink(path)
        with contextlib.suppress(OSError):
            _unlock(handle)
        os.close(handle)
        if outermost is not None and os.name == "nt":
            hidden = _hide(outermost)  # Windows renames no directory with a file open in it: ours is closed now
        if hidden is not None:
            remove_tree(hidden)
        elif failed and created and os.name == "nt":
            with contextlib.suppress(OSError):
                os.unlink(path)  # fails harmlessly while a waiter has it open


def make_directories(path: Path) -> list[tuple[Path, os.stat_result]]:
    """Create ``path`` and its missing parents (another process may create them at the same time); return the
    ones this call created, outermost first, each with its identity."""
    missing = []
    current = path
    while not os.path.lexists(current):
        missing.append(current)
        current = current.parent
    made = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue  # another install made it: it is theirs
        made.append((directory, os.lstat(directory)))
    return made


def _outermost_made(made: list[tuple[Path, os.stat_result]]) -> Path | None:
    """The outermost directory this process made that is still the one it made (not remade by another)."""
    for directory, identity in sorted(made, key=lambda item: len(item[0].parts)):
        try:
            if os.path.samestat(os.lstat(directory), identity):
                return directory
        except OSError:
            continue
    return None


def _hide(directory: Path) -> Path | None:
    """Rename ``directory`` to a hidden name beside it (it disappears in one step), or None when that fails."""
    hidden = directory.with_name(f".{directory.name}.{os.getpid()}{REMOVING_SUFFIX}")
    try:
        rename(directory, hidden)
    except OSError:
        return None
    return hidden


def _open(path: Path) -> tuple[int, bool]:
    """(descriptor, whether this call created the file); only ever a regular file with one name."""
    flags = os.O_RDWR
    try:
        while True:
            try:
                return open_regular(path, flags | os.O_CREAT | os.O_EXCL, 0o644, one_name=True), True
            except FileExistsError:
                pass
            try:
                return open_regular(path, flags, one_name=True), False
            except FileNotFoundError:
                continue  # removed in between by a failed first install
    except UnsafeRootEntry as error:
        raise UnsafeRootEntry(f"the root lock {error.message}; nothing was changed. Remove it (any command makes "
                              "a new one) if no process of this tool is running") from None


def _write_note(handle: int, command: str) -> None:
    note = {"pid": os.getpid(), "command": command, "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "python": sys.executable}
    try:
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(handle, json.dumps(note).encode("utf-8"))
    except OSError:
        pass  # a full disk: the note is only for waiters' messages
