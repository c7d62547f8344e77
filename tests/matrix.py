"""The test matrix CI runs: the whole suite on the oldest and newest supported CPython, the quick part on the
ones between (and the user's commands end to end on 3.12), the import contracts and the type checks for Linux and Windows, two at a time on two cores.

Each Python gets a venv of its own (``.venv-matrix/X.Y``, made from the machine's interpreter of that version
and reused while tests/requirements.txt is unchanged); a Python the machine lacks fails the run. Logs are kept in
``.venv-matrix/logs/``; a failing job's tail is printed. Usage: ``python tests/matrix.py [-j JOBS] [JOB ...]``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from tests.support.interpreters import find_python  # noqa: E402

FULL = ("3.10", "3.13")  # the oldest and the newest supported CPython run everything
QUICK = ("3.11", "3.12")  # the ones between run the in-process part (-m "not slow")
# The commands a user runs (init, migrate, lock, build) also run end to end on 3.12, whose early releases
# differ (PEP 709's inlined comprehensions).
COMMANDS = ("3.12", ("tests/cli/test_init.py", "tests/cli/test_migrate.py", "tests/resolver/test_lock.py",
                     "tests/bundle/test_reproducible.py"))
VENVS = ROOT / ".venv-matrix"
LOGS = VENVS / "logs"
REQUIREMENTS = HERE / "requirements.txt"
BASETEMP = Path(tempfile.gettempdir()) / "procvision-matrix"  # each run's tmp_path folders, apart


@dataclass(frozen=True)
class Job:
    """One command of the matrix: its name, which Python's venv runs it, and its arguments after ``python``."""

    name: str
    python: str
    args: tuple[str, ...]
    weight: int  # longest first keeps both cores busy to the end

    def is_pytest(self) -> bool:
        return self.args[:2] == ("-m", "pytest")


def jobs() -> list[Job]:
    def pytest(version: str, *extra: str) -> tuple[str, ...]:
        return ("-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=25", f"--basetemp={BASETEMP / version}",
                *extra)

    # The bundles past 4 GiB (marker "huge") are built and installed once per run, by the oldest Python.
    listed = [Job(f"pytest-{v}", v, pytest(v) if v == FULL[0] else pytest(v, "-m", "not huge"), 100) for v in FULL]
    listed += [Job(f"pytest-{v}-quick", v, pytest(v, "-m", "not slow"), 10) for v in QUICK]
    listed.append(Job(f"pytest-{COMMANDS[0]}-commands", COMMANDS[0],
                      pytest(f"{COMMANDS[0]}-commands", "-m", "slow", *COMMANDS[1]), 20))
    listed += [Job(f"mypy-{platform}", FULL[0], ("-m", "mypy", "--platform", platform), 5)
               for platform in ("linux", "win32")]
    lint = "import sys; sys.path.insert(0, 'sdk'); from importlinter.cli import lint_imports_command as c; c()"
    listed.append(Job("lint-imports", FULL[0], ("-c", lint), 1))  # sdk/ on the path: the SDK has contracts too
    return sorted(listed, key=lambda job: -job.weight)


def venv_python(version: str) -> Path:
    """A venv of ``version`` with the test requirements, made (or remade) when the requirements changed."""
    base = find_python(version)
    if base is None:
        raise SystemExit(f"matrix: no CPython {version} on this machine; install it (pyenv install {version}) "
                         f"or put python{version} on PATH")
    venv = VENVS / version
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = venv / ".requirements"
    key = hashlib.sha256(REQUIREMENTS.read_bytes() + str(base).encode()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == key:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    for command in ([str(base), "-m", "venv", str(venv)],
                    [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)]):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"matrix: {' '.join(command)} failed:\n{done.stdout}{done.stderr}")
    stamp.write_text(key)
    return python


def run(job: Job, python: Path) -> tuple[Job, int, float, str]:
    """Run one job with its log in LOGS; returns the job, its exit status, its seconds and its log's path."""
    log = LOGS / f"{job.name}.log"
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # As if the venv were activated: tools the tests run (uv) come from it, not from the machine.
    env["PATH"] = os.pathsep.join([str(python.parent), env.get("PATH", "")])
    started = time.monotonic()
    with log.open("w") as out:
        status = subprocess.run([str(python), *job.args], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL).returncode
    return job, status, time.monotonic() - started, str(log)


def counts(log_text: str) -> dict[str, int]:
    """pytest's closing line as numbers: {"passed": 690, "failed": 2, ...}."""
    lines = [line for line in log_text.splitlines() if re.search(r"\d+ (passed|failed|error)", line)]
    return {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", lines[-1])} if lines else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-j", "--jobs", type=int, default=max(2, os.cpu_count() or 2),
                        help="jobs at once (default: the number of cores, at least 2)")
    parser.add_argument("only", nargs="*", help="run only these jobs (names as listed in the summary)")
    options = parser.parse_args()
    selected = [job for job in jobs() if not options.only or job.name in options.only]
    LOGS.mkdir(parents=True, exist_ok=True)
    BASETEMP.mkdir(parents=True, exist_ok=True)  # pytest makes each run's own folder, not its parents
    started = time.monotonic()
    versions = sorted({job.python for job in selected})
    with concurrent.futures.ThreadPoolExecutor(len(versions)) as pool:
        pythons = dict(zip(versions, pool.map(venv_python, versions)))
    print(f"matrix: venvs ready in {time.monotonic() - started:.0f} s "
          f"({', '.join(f'{v}: {pythons[v]}' for v in versions)})", flush=True)

    failed: list[str] = []
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    rows = []
    with concurrent.futures.ThreadPoolExecutor(options.jobs) as pool:
        pending = [pool.submit(run, job, pythons[job.python]) for job in selected]
        for future in concurrent.futures.as_completed(pending):
            job, status, seconds, log = future.result()
            text = Path(log).read_text(errors="replace")
            found = counts(text) if job.is_pytest() else {}
            for word in totals:
                totals[word] += found.get(word, 0)
            totals["failed"] += found.get("error", 0) + found.get("errors", 0)
            summary = ", ".join(f"{n} {w}" for w, n in found.items()) if found else ("ok" if status == 0 else "")
            rows.append((job.name, seconds, status, summary))
            print(f"matrix: {job.name}: {'ok' if status == 0 else f'FAILED (exit {status})'} in {seconds:.0f} s"
                  f"{f' ({summary})' if summary else ''}", flush=True)
            if status != 0:
                failed.append(job.name)
                print("".join(text.splitlines(keepends=True)[-60:]), flush=True)
                if job.is_pytest() and not found.get("failed") and not found.get("error"):
                    totals["failed"] += 1  # a crash or a collection error counts as a failure

    print(f"\nmatrix: {len(selected)} jobs in {time.monotonic() - started:.0f} s; logs in {LOGS}")
    for name, seconds, status, summary in sorted(rows):
        print(f"  {name:22} {seconds:6.0f} s  {'ok' if status == 0 else 'FAILED'}  {summary}")
    if failed:
        print(f"matrix: failed: {', '.join(failed)}")
    print(f"matrix: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
