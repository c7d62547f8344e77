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

from .bundle_files import REMOVING_SUFFIX, TEMPORARY_SUFFIX
from .errors import RootBusy, UnsafeRootEntry
from .fsutil import open_regular, read_regular, remove_tree, rename

# typing is imported by the type checker only: the root tool's calls skip it (values.py)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterator

    from .fsutil import StrPath

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


def holder(path: StrPath) -> str:
    """Who holds the lock, as its note says: ``pid 4242 (procvision-deploy install ...)``."""
    try:
        note = json.loads(read_regular(path).decode("utf-8"))
        return f"pid {note['pid']} ({note['command']}, since {note['since']})"
    except (OSError, ValueError, KeyError, TypeError, UnsafeRootEntry):
        return "another process"


def _same_file(handle: int, path: StrPath) -> bool:
    """Whether ``path`` itself (not a link) still names the file we locked (a failed install removes its lock)."""
    try:
        return os.path.samestat(os.fstat(handle), os.lstat(path))
    except OSError:
        return False


@contextlib.contextmanager
def root_lock(path: StrPath, command: str, wait: float, on_wait: Callable[[str], None], *,
              create_root: bool = False) -> Iterator[None]:
    """Hold the lock at ``path`` (created if needed), waiting up to ``wait`` seconds; ``RootBusy`` after that.

    ``on_wait`` is called once, with the holder's description, when the lock is taken. ``create_root``
    (install) makes the root directory and its missing parents first. When the body fails, what this call
    created goes again, so a failed first install leaves the disk as it was: the lock file it created, and the
    outermost directory it made (renamed out of sight under the lock, then deleted) while that directory holds
    nothing but the way down to the root, and there only the lock file and what failed installs leave. A
    root another install succeeded in holds that version, so it is never removed; a waiter whose root
    vanished makes it again, so concurrent first installs serialize, and the last of them to fail leaves
    nothing, whichever of them made the directories or the lock file.
    """
    deadline = time.monotonic() + wait
    announced = False
    made: list[tuple[str, os.stat_result]] = []
    mine: os.stat_result | None = None  # the lock file this call created, while it waits for it
    root = os.path.dirname(os.path.abspath(path))  # absolute, as the directories it makes
    while True:
        if create_root:
            made += make_directories(root)
        try:
            handle, created = _open(path)
            if created:
                mine = os.fstat(handle)
            else:  # the file it created before, opened again after another holder let go of it
                created = mine is not None and os.path.samestat(os.fstat(handle), mine)
        except FileNotFoundError:
            if not create_root or (os.path.lexists(root) and not os.path.isdir(root)):
                raise
            continue  # the root went with a failed install that made it: make it again
        if _try_lock(handle) and _same_file(handle, path):
            break
        with contextlib.suppress(OSError):
            _unlock(handle)
        os.close(handle)
        if time.monotonic() >= deadline:
            raise RootBusy(f"{root} is locked by {holder(path)}; waited {wait:g} s. Try again when it is "
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
        # only what holds nothing an install left: a root another install succeeded in keeps its version
        outermost = _outermost_unused(made, root, os.path.basename(os.fspath(path))) if failed else None
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


def make_directories(path: StrPath) -> list[tuple[str, os.stat_result]]:
    """Create ``path`` and its missing parents (another process may create them at the same time); return the
    ones this call created, outermost first, each with its identity."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.lexists(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:  # a drive or share that is not there: its mkdir below says so
            break
        current = parent
    made = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
        except FileExistsError:
            continue  # another install made it: it is theirs
        made.append((directory, os.lstat(directory)))
    return made


def _outermost_unused(made: list[tuple[str, os.stat_result]], root: str, lock_name: str) -> str | None:
    """The outermost directory this process made that is still the one it made (not remade by another), when it
    holds nothing but the way down to ``root`` and, there, the lock file and what failed installs leave."""
    for directory, identity in sorted(made, key=lambda item: len(item[0])):  # absolute: a parent is shorter
        try:
            if os.path.samestat(os.lstat(directory), identity):
                return directory if _holds_nothing_installed(directory, root, lock_name) else None
        except OSError:
            continue
    return None


def _holds_nothing_installed(directory: str, root: str, lock_name: str) -> bool:
    """Whether ``directory`` (``root`` or one of its parents) holds only the way down to ``root`` (and hidden
    directories being removed), and ``root`` only its lock file and what failed installs leave: temporary
    version directories and files."""
    current = directory
    while True:
        in_root = os.path.normcase(current) == os.path.normcase(root)
        names = [name for name in os.listdir(current) if not (
            name.startswith(".") and name.endswith(REMOVING_SUFFIX) or in_root and name.endswith(TEMPORARY_SUFFIX))]
        if in_root:
            return all(name == lock_name for name in names)
        below = os.path.relpath(root, current).split(os.sep)[0]
        if names != [below]:
            return False
        current = os.path.join(current, below)


def _hide(directory: str) -> str | None:
    """Rename ``directory`` to a hidden name beside it (it disappears in one step), or None when that fails."""
    parent, name = os.path.split(directory)
    hidden = os.path.join(parent, f".{name}.{os.getpid()}{REMOVING_SUFFIX}")
    try:
        rename(directory, hidden)
    except OSError:
        return None
    return hidden


def _open(path: StrPath) -> tuple[int, bool]:
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
