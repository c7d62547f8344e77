"""Bytecode for the modules an install writes, compiled by child processes side by side, one per core, while
the rest is still being written: each module goes to the least loaded worker as soon as it is written whole.

Like pip: ``__pycache__/{name}.{cache_tag}.pyc`` next to each module, the default invalidation mode (timestamps;
checked hashes under ``SOURCE_DATE_EPOCH``), a module that does not compile is skipped. Tracebacks name the
files where the venv will live (``final``), not the temporary directory. The children are this interpreter,
isolated, and die with the installer (children.py).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import NamedTuple

from . import children
from .codes import ErrorCode
from .errors import DeployError

COMPILE_TIMEOUT_S = 30 * 60


class CompiledFile(NamedTuple):
    """A module's bytecode as a worker wrote it: where, its sha256 (hex), size and st_mtime_ns."""

    pyc: Path
    sha256: str
    size: int
    mtime_ns: int


#: One JSON job per line on stdin, until EOF; then, on stdout, each written pyc with its sha256, size and
#: mtime (the install record takes them, instead of reading every pyc again). Warnings are ignored, as pip does.
_WORKER = ("import hashlib, json, os, py_compile, sys, warnings\n"
           "warnings.simplefilter('ignore')\n"
           "written = []\n"
           "for line in sys.stdin.buffer:\n"
           "    source, cfile, dfile = json.loads(line)\n"
           "    try:\n"
           "        py_compile.compile(source, cfile, dfile, doraise=True)\n"
           "        with open(cfile, 'rb') as handle:\n"
           "            data, status = handle.read(), os.fstat(handle.fileno())\n"
           "    except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):\n"
           "        continue\n"
           "    written.append([source, hashlib.sha256(data).hexdigest(), len(data), status.st_mtime_ns])\n"
           "sys.stdout.write(json.dumps(written))\n")
_MODULE_COST = 2048  # a module costs more than its bytes


def cache_path(source: Path) -> Path:
    """Where this interpreter looks for the bytecode of ``source``."""
    tag = sys.implementation.cache_tag
    return source.parent / "__pycache__" / f"{source.stem}.{tag}.pyc"


def worker_count() -> int:
    counter = getattr(os, "process_cpu_count", os.cpu_count)
    return max(1, counter() or 1)


class _Worker:
    """One child compiling what it is fed; a thread writes its jobs, so a full pipe never blocks a wheel."""

    def __init__(self, built_at: Path) -> None:
        # the directory on the command line: `ps` shows what a worker compiles (and tests find leftovers by it)
        self.process = children.start([sys.executable, "-I", "-S", "-c", _WORKER, str(built_at)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.load = 0
        self.jobs: queue.Queue[bytes | None] = queue.Queue()
        self.feeder = threading.Thread(target=self._feed, name="bytecode-feeder", daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            while (line := self.jobs.get()) is not None:
                stdin.write(line)
            stdin.close()
        except OSError:  # the worker died: finish() reports its exit
            pass


class BytecodeCompiler:
    """Compiles modules under ``built_at`` (which moves to ``final``) as they are submitted; ``finish`` waits."""

    def __init__(self, built_at: Path, final: Path, workers: int | None = None) -> None:
        self._built_at, self._final = built_at, final
        # started here, by the thread that will wait for them: Linux kills a child when the *thread* that
        # started it ends (PR_SET_PDEATHSIG), and the wheel threads end before the compiling does
        self._workers: list[_Worker] = []
        try:
            for _ in range(workers or worker_count()):
                self._workers.append(_Worker(built_at))
        except BaseException:
            self.abort()
            raise
        self._assigned: dict[Path, _Worker] = {}  # each source queued, and to whom
        self._lock = threading.Lock()

    def submit_file(self, source: Path, size: int) -> None:
        """Queue ``source`` (written whole, ``size`` bytes) to the least loaded worker."""
        cfile = cache_path(source)
        job = json.dumps([str(source), str(cfile), str(self._final / source.relative_to(self._built_at))])
        with self._lock:
            # a file two wheels ship (a namespace __init__.py) goes to the same worker again: compiled in the order
            # it was written, the last write wins, as on disk
            worker = self._assigned.get(source) or min(self._workers, key=lambda each: each.load)
            self._assigned[source] = worker
            worker.jobs.put(job.encode("utf-8") + b"\n")
            worker.load += size + _MODULE_COST

    def finish(self) -> dict[Path, CompiledFile]:
        """Wait for every worker; returns each module compiled with its pyc (2005 when a worker failed)."""
        failed, written = [], []
        try:
            for worker in self._workers:
                worker.jobs.put(None)
            for worker in self._workers:
                worker.feeder.join()  # every job written and stdin closed (or the worker died)
                worker.process.stdin = None
                # stdout holds one JSON list, written at the end; stderr only what a crash leaves (small)
                output, stderr = worker.process.communicate(timeout=COMPILE_TIMEOUT_S)
                if worker.process.returncode != 0:
                    failed.append(stderr.decode("utf-8", "replace").strip().splitlines()[-1:])
                else:
                    written += json.loads(output)
        finally:
            self.abort()
        if failed:
            raise DeployError(f"compiling bytecode failed ({failed[0][0] if failed[0] else 'no message'}); nothing "
                              "was installed. Install again, or with --no-compile", ErrorCode.INSTALL_FAILED)
        return {Path(source): CompiledFile(cache_path(Path(source)), digest, size, mtime_ns)
                for source, digest, size, mtime_ns in written}

    def abort(self) -> None:
        """Stop every worker still running (an install that failed); idempotent."""
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
            worker.jobs.put(None)  # its feeder ends (a write to the dead pipe fails, or the queue runs out)
