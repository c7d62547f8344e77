"""The root lock ``DIR/.procvision.lock``: one writer at a time; the others wait, saying for whom.

``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows. The holder writes its PID and command into the
file so a waiter can name it, and empties the file when it lets go.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from .errors import RootBusy

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
        note = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {note['pid']} ({note['command']}, since {note['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


def _same_file(handle: int, path: Path) -> bool:
    """Whether ``path`` still names the file we locked (a failed first install removes its lock file)."""
    try:
        return os.path.samestat(os.fstat(handle), os.stat(path))
    except OSError:
        return False


@contextlib.contextmanager
def root_lock(path: Path, command: str, wait: float, on_wait: Callable[[str], None]) -> Iterator[None]:
    """Hold the lock at ``path`` (created if needed), waiting up to ``wait`` seconds; ``RootBusy`` after that.

    ``on_wait`` is called once, with the holder's description, when the lock is taken. A lock file this call
    created is removed again when the body fails, so a failed first install leaves the root as it was.
    """
    deadline = time.monotonic() + wait
    announced = False
    while True:
        handle, created = _open(path)
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
        if failed and created and os.name != "nt":
            with contextlib.suppress(OSError):
                os.unlink(path)  # under the lock: a waiter that opened it sees a different file and retries
        with contextlib.suppress(OSError):
            _unlock(handle)
        os.close(handle)
        if failed and created and os.name == "nt":
            with contextlib.suppress(OSError):
                os.unlink(path)  # fails harmlessly while a waiter has it open


def _open(path: Path) -> tuple[int, bool]:
    """(descriptor, whether this call created the file)."""
    flags = os.O_RDWR | getattr(os, "O_BINARY", 0)
    while True:
        try:
            return os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            pass
        try:
            return os.open(path, flags), False
        except FileNotFoundError:
            continue  # removed in between by a failed first install


def _write_note(handle: int, command: str) -> None:
    note = {"pid": os.getpid(), "command": command, "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            "python": sys.executable}
    try:
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(handle, json.dumps(note).encode("utf-8"))
    except OSError:
        pass  # a full disk: the note is only for waiters' messages
