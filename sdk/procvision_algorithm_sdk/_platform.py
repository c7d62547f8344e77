"""The few places where Windows and POSIX differ, one function each."""

from __future__ import annotations

import mmap
import os
import sys
from typing import Hashable

IS_WINDOWS = sys.platform == "win32"


def open_segment(name: str) -> tuple[mmap.mmap, Hashable] | None:
    """Map the named shared-memory segment read-only; None when it does not exist.

    Returns the map and an identity that ``segment_identity`` reproduces while the
    same segment lives under that name. Unlike ``SharedMemory(name=...)`` this never
    registers the segment with the resource tracker, so a reader can neither unlink
    it nor cause a "leaked shared_memory" warning (before 3.13 there is no ``track=False``).
    """
    if IS_WINDOWS:
        return _open_segment_windows(name)
    return _open_segment_posix(name)


def segment_identity(name: str) -> Hashable | None:
    """What identifies the segment now behind ``name`` (None: gone, or not knowable here)."""
    if IS_WINDOWS:
        return None  # a Windows section has no cheap identity: callers map it afresh
    fd = _shm_open_readonly(name)
    if fd is None:
        return None
    try:
        return _posix_identity(fd)
    finally:
        os.close(fd)


def _shm_open_readonly(name: str) -> int | None:
    import _posixshmem  # CPython's own binding, the one SharedMemory uses

    path = name if name.startswith("/") else "/" + name
    try:
        return _posixshmem.shm_open(path, os.O_RDONLY, mode=0o600)
    except (OSError, ValueError):
        return None


def _posix_identity(fd: int) -> Hashable:
    status = os.fstat(fd)
    return (status.st_dev, status.st_ino, status.st_size)


def _open_segment_posix(name: str) -> tuple[mmap.mmap, Hashable] | None:
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
    finally:
        _winapi.CloseHandle(handle)
    return mmap.mmap(-1, size, tagname=name, access=mmap.ACCESS_READ), None
