"""Bytecode for the modules an install wrote, compiled by child processes side by side, one per core.

Like pip: ``__pycache__/{name}.{cache_tag}.pyc`` next to each module, the default invalidation mode (timestamps;
checked hashes under ``SOURCE_DATE_EPOCH``), a module that does not compile is skipped. Tracebacks name the
files where the venv will live (``final_venv``), not the temporary directory. The children are this
interpreter, isolated, and die with the installer (children.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from . import children
from .codes import ErrorCode
from .errors import DeployError

COMPILE_TIMEOUT_S = 30 * 60
_WORKER = ("import json, py_compile, sys\n"
           "for source, cfile, dfile in json.load(sys.stdin):\n"
           "    try:\n"
           "        py_compile.compile(source, cfile, dfile, doraise=True)\n"
           "    except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):\n"
           "        pass\n")


def cache_path(source: Path) -> Path:
    """Where this interpreter looks for the bytecode of ``source``."""
    tag = sys.implementation.cache_tag
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


def worker_count() -> int:
    counter = getattr(os, "process_cpu_count", os.cpu_count)
    return max(1, counter() or 1)


def compile_bytecode(sources: list[Path], built_at: Path, final: Path) -> dict[Path, Path]:
    """Compile ``sources`` (under ``built_at``, which moves to ``final``); returns source -> pyc for each done."""
    if not sources:
        return {}
    jobs = [(str(source), str(cache_path(source)), str(final / source.relative_to(built_at))) for source in sources]
    count = min(worker_count(), len(jobs))
    shares: list[list[tuple[str, str, str]]] = [[] for _ in range(count)]
    loads = [0] * count
    for job in sorted(jobs, key=lambda item: -_size(item[0])):  # the biggest first, each to the least loaded
        least = loads.index(min(loads))
        shares[least].append(job)
        loads[least] += _size(job[0]) + 2048  # a module costs more than its bytes
    # the directory on the command line: `ps` shows what a worker compiles (and tests find leftovers by it)
    processes = [children.start([sys.executable, "-I", "-S", "-c", _WORKER, str(built_at)], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in shares]
    try:
        for process, share in zip(processes, shares):
            assert process.stdin is not None
            process.stdin.write(json.dumps(share).encode("utf-8"))
            process.stdin.close()
        failed = []
        for process in processes:
            assert process.stderr is not None
            stderr = process.stderr.read()  # the workers write nothing else; EOF when they end
            if process.wait(timeout=COMPILE_TIMEOUT_S) != 0:
                failed.append(stderr.decode("utf-8", "replace").strip().splitlines()[-1:])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    if failed:
        raise DeployError(f"compiling bytecode failed ({failed[0][0] if failed[0] else 'no message'}); nothing was "
                          "installed. Install again, or with --no-compile", ErrorCode.INSTALL_FAILED)
    return {source: Path(cfile) for source, (_, cfile, _) in zip(sources, jobs) if os.path.exists(cfile)}


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
