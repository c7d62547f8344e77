"""Bytecode for the modules an install writes, compiled by child processes side by side, one per core, while
the other wheels are still being written: each wheel's modules go to the workers as soon as that wheel is done.

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

from . import children
from .codes import ErrorCode
from .errors import DeployError

COMPILE_TIMEOUT_S = 30 * 60
#: one JSON job per line on stdin, until EOF
_WORKER = ("import json, py_compile, sys\n"
           "for line in sys.stdin.buffer:\n"
           "    source, cfile, dfile = json.loads(line)\n"
           "    try:\n"
           "        py_compile.compile(source, cfile, dfile, doraise=True)\n"
           "    except (py_compile.PyCompileError, SyntaxError, ValueError, OSError):\n"
           "        pass\n")
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
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
        self._jobs: dict[Path, Path] = {}  # source -> its pyc
        self._lock = threading.Lock()

    def submit(self, sources: list[Path]) -> None:
        """Queue ``sources`` (written whole): the biggest first, each to the least loaded worker."""
        sized = sorted(((_size(source), source) for source in sources), key=lambda item: -item[0])
        with self._lock:
            for size, source in sized:
                worker = min(self._workers, key=lambda each: each.load)
                cfile = cache_path(source)
                self._jobs[source] = cfile
                job = [str(source), str(cfile), str(self._final / source.relative_to(self._built_at))]
                worker.jobs.put(json.dumps(job).encode("utf-8") + b"\n")
                worker.load += size + _MODULE_COST

    def finish(self) -> dict[Path, Path]:
        """Wait for every worker; returns source -> pyc for each module compiled (2005 when a worker failed)."""
        failed = []
        try:
            for worker in self._workers:
                worker.jobs.put(None)
            for worker in self._workers:
                assert worker.process.stderr is not None
                stderr = worker.process.stderr.read()  # the workers write nothing else; EOF when they end
                if worker.process.wait(timeout=COMPILE_TIMEOUT_S) != 0:
                    failed.append(stderr.decode("utf-8", "replace").strip().splitlines()[-1:])
                worker.feeder.join()
        finally:
            self.abort()
        if failed:
            raise DeployError(f"compiling bytecode failed ({failed[0][0] if failed[0] else 'no message'}); nothing "
                              "was installed. Install again, or with --no-compile", ErrorCode.INSTALL_FAILED)
        return {source: cfile for source, cfile in self._jobs.items() if os.path.exists(cfile)}

    def abort(self) -> None:
        """Stop every worker still running (an install that failed); idempotent."""
        for worker in self._workers:
            if worker.process.poll() is None:
                worker.process.kill()
                worker.process.wait()
            worker.jobs.put(None)  # its feeder ends (a write to the dead pipe fails, or the queue runs out)


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
