"""The few places where Windows and POSIX differ, one function each."""

from __future__ import annotations

import mmap
import os
import sys
from typing import Callable, Hashable

IS_WINDOWS = sys.platform == "win32"  # branches test sys.platform itself: mypy checks each as its platform sees it


def open_segment(name: str) -> tuple[mmap.mmap, Hashable] | None:
    """Map the named shared-memory segment read-only; None when it does not exist.

    Returns the map and an identity that ``segment_identity`` reproduces while the
    same segment lives under that name. Unlike ``SharedMemory(name=...)`` this never
    registers the segment with the resource tracker, so a reader can neither unlink
    it nor cause a "leaked shared_memory" warning (before 3.13 there is no ``track=False``).
    """
    if sys.platform == "win32":
        return _open_segment_windows(name)
    return _open_segment_posix(name)


def segment_identity(name: str) -> Hashable | None:
    """What identifies the segment now behind ``name`` (None: gone, or not knowable here)."""
    if sys.platform == "win32":
        return None  # a Windows section has no cheap identity: callers map it afresh
    fd = _shm_open_readonly(name)
    if fd is None:
        return None
    try:
        return _posix_identity(fd)
    finally:
        os.close(fd)


def _shm_open_readonly(name: str) -> int | None:
    if sys.platform == "win32":  # mypy then checks the rest as POSIX sees it
        raise AssertionError("POSIX only")
    import _posixshmem  # CPython's own binding, the one SharedMemory uses

    path = name if name.startswith("/") else "/" + name
    try:
        return _posixshmem.shm_open(path, os.O_RDONLY, mode=0o600)
    except (OSError, ValueError):
        return None


def _posix_identity(fd: int) -> tuple[int, int, int]:
    status = os.fstat(fd)
    return (status.st_dev, status.st_ino, status.st_size)


def _open_segment_posix(name: str) -> tuple[mmap.mmap, Hashable] | None:
    if sys.platform == "win32":  # mypy then checks the rest as POSIX sees it
        raise AssertionError("POSIX only")
    fd = _shm_open_readonly(name)
    if fd is None:
        return None
    try:
        identity = _posix_identity(fd)
        if identity[2] == 0:
            return None
        return mmap.mmap(fd, identity[2], flags=mmap.MAP_SHARED, prot=mmap.PROT_READ), identity
    finally:
        os.close(fd)


def _open_segment_windows(name: str) -> tuple[mmap.mmap, Hashable] | None:  # pragma: no cover - Windows
    if sys.platform != "win32":  # mypy then checks the rest as Windows sees it
        raise AssertionError("Windows only")
    import _winapi

    try:
        handle = _winapi.OpenFileMapping(_winapi.FILE_MAP_READ, False, name)
    except OSError:
        return None  # mapping by tagname below would create a new, empty segment instead
    try:
        address = _winapi.MapViewOfFile(handle, _winapi.FILE_MAP_READ, 0, 0, 0)
        try:
            size = _winapi.VirtualQuerySize(address)
        finally:
            _winapi.UnmapViewOfFile(address)
        # Our open handle keeps the section alive, so the tagname maps this one: were the
        # writer to free it first, mmap would create a new section of zeros under the name.
        return mmap.mmap(-1, size, tagname=name, access=mmap.ACCESS_READ), None
    finally:
        _winapi.CloseHandle(handle)


# -- the adapter's standard streams ------------------------------------------------


def detach_stdio() -> tuple[int, int]:
    """Give the frame channels private descriptors; fd 1 then writes to stderr and fd 0 reads nothing.

    Returns ``(frames_in, frames_out)``. After this, ``print``, ``os.write(1, ...)`` and C
    libraries writing to stdout land in stderr, and nothing can steal the runner's frames.
    """
    frames_in, frames_out = os.dup(0), os.dup(1)  # dup() is non-inheritable: grandchildren never get them
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        os.dup2(null, 0)
    finally:
        os.close(null)
    os.dup2(2, 1)
    if sys.platform == "win32":  # pragma: no cover - Windows
        _detach_stdio_windows(frames_in, frames_out)
    return frames_in, frames_out


def _detach_stdio_windows(frames_in: int, frames_out: int) -> None:  # pragma: no cover - Windows
    if sys.platform != "win32":  # mypy then checks the rest as Windows sees it
        raise AssertionError("Windows only")
    import ctypes
    import msvcrt

    for fd in (frames_in, frames_out):
        msvcrt.setmode(fd, os.O_BINARY)  # no CRLF translation inside frames
    # Code that asks the OS for the standard handles (not the C runtime) must see the same swap.
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.SetStdHandle.argtypes = (wintypes.DWORD, wintypes.HANDLE)
    kernel32.SetStdHandle.restype = wintypes.BOOL
    kernel32.SetStdHandle(-11 & 0xFFFFFFFF, msvcrt.get_osfhandle(1))  # STD_OUTPUT_HANDLE
    kernel32.SetStdHandle(-10 & 0xFFFFFFFF, msvcrt.get_osfhandle(0))  # STD_INPUT_HANDLE


# -- the runner's child process ----------------------------------------------------


def child_popen_options(die_with_caller: bool = False) -> dict:
    """``subprocess.Popen`` options that let ``terminate_process``/``kill_process`` reach the whole child tree.

    ``die_with_caller`` (Linux): the kernel kills the child when the calling thread ends (``PR_SET_PDEATHSIG``).
    """
    if sys.platform == "win32":  # pragma: no cover - Windows
        import subprocess

        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    options: dict = {"start_new_session": True}
    if die_with_caller and sys.platform.startswith("linux"):
        options["preexec_fn"] = _death_signal()
    return options


def _death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that arms SIGKILL for the child when its parent thread ends; None without ``prctl``.

    The installer's ``deploy/children.py`` does the same for its own children: neither package may import
    the other (the SDK runs without procvision-build, the installer without the SDK).
    """
    if sys.platform == "win32":  # mypy then checks the rest as POSIX sees it
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    import signal

    parent = os.getpid()

    def arm() -> None:  # runs in the child between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def terminate_process(process) -> None:
    """Ask the child (and what it started) to stop: SIGTERM to its process group, TerminateProcess on Windows."""
    _signal_process(process, hard=False)


def kill_process(process) -> None:
    """Stop the child (and what it started) now: SIGKILL to its process group, TerminateProcess on Windows."""
    _signal_process(process, hard=True)


def _signal_process(process, hard: bool) -> None:
    if process.poll() is not None:
        return  # reaped: its pid may already belong to someone else
    if sys.platform == "win32":  # pragma: no cover - Windows
        try:
            process.kill() if hard else process.terminate()
        except OSError:
            pass
        return
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        try:
            process.kill() if hard else process.terminate()
        except OSError:
            pass
