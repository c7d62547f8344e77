"""Child processes that die with the installer, so a killed install leaves no pip writing into the root.

Linux: the kernel sends SIGKILL to the child when its parent dies (``PR_SET_PDEATHSIG``). Windows: the child
joins a job object that closes, killing it, when this process ends. Elsewhere (macOS) a child can outlive a
killed installer; the next install waits for the root lock, not for it (docs/deploy.md).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any, Callable, Sequence

_job_handle: Any = None


def _linux_death_signal() -> Callable[[], None] | None:
    if sys.platform == "win32":  # mypy then checks the rest as POSIX sees it (start() calls this on Linux only)
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def set_death_signal() -> None:  # runs in the child between fork and exec
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return set_death_signal


def _windows_job() -> Any:
    """A job object that kills its processes when its last handle (ours) closes; None when unavailable."""
    global _job_handle
    if _job_handle is not None:
        return _job_handle
    if sys.platform != "win32":  # mypy then checks the rest as Windows sees it (start() calls this on Windows only)
        return None
    import ctypes
    from ctypes import wintypes

    class BasicLimits(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                    ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                    ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                    ("SchedulingClass", wintypes.DWORD)]

    class ExtendedLimits(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", ctypes.c_ulonglong * 6),
                    ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                    ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateJobObjectW.restype = wintypes.HANDLE
    kernel32.CreateJobObjectW.argtypes = [ctypes.c_void_p, wintypes.LPCWSTR]
    kernel32.SetInformationJobObject.argtypes = [wintypes.HANDLE, ctypes.c_int, ctypes.c_void_p, wintypes.DWORD]
    kernel32.AssignProcessToJobObject.argtypes = [wintypes.HANDLE, wintypes.HANDLE]
    job = kernel32.CreateJobObjectW(None, None)
    if not job:
        return None
    limits = ExtendedLimits()
    limits.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
    if not kernel32.SetInformationJobObject(job, 9, ctypes.byref(limits), ctypes.sizeof(limits)):
        return None  # 9: JobObjectExtendedLimitInformation
    _job_handle = (kernel32, job)
    return _job_handle


def start(command: Sequence[str], **options: Any) -> subprocess.Popen:
    """``subprocess.Popen(command, **options)``, tied to this process's life where the system allows."""
    if sys.platform.startswith("linux"):
        options.setdefault("preexec_fn", _linux_death_signal())
    process = subprocess.Popen(list(command), **options)
    if sys.platform == "win32":
        try:
            job = _windows_job()
            if job is not None:
                kernel32, handle = job
                kernel32.AssignProcessToJobObject(handle, int(process._handle))  # type: ignore[attr-defined]  # Popen's private Windows handle is not in typeshed
        except (OSError, AttributeError, ValueError):
            pass  # an older Windows refusing nested jobs: the child just is not tied to us
    return process


def run(command: Sequence[str], *, timeout: float | None = None, **options: Any) -> subprocess.CompletedProcess:
    """Like ``subprocess.run(..., capture_output=True, text=True)``; the child is killed if we are interrupted."""
    options.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    options.setdefault("text", True)
    options.setdefault("errors", "replace")
    with start(command, **options) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            kill_tree(process)
            process.wait()
            raise
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def kill_tree(process: subprocess.Popen) -> None:
    """Kill the child and what it started (the SDK check's adapter): on Linux the kernel kills those that
    asked for it when the child dies; on Windows their job would end them only when this process does."""
    if sys.platform == "win32":
        try:
            subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
        except (OSError, subprocess.SubprocessError):
            pass
    process.kill()
