"""The import check: import every installed distribution's top-level modules with the venv's interpreter.

A bundle can install and pass its handshake and still fail at ``import onnxruntime`` (a NumPy 1.x/2.x ABI
mismatch, a missing system library). The modules come from each ``*.dist-info/top_level.txt``, else from its
RECORD. A child per core (``-I``) imports its share of them in turn, so NumPy is imported once or twice, not
once per module; the module such a child stops at, and every module after it, is then imported alone, in a
child of its own (a timeout each, several at once), and only those alone decide a failure and its message.

Skipped by rule (docs/deploy.md), as only their own ``__main__`` or a test runner may import them: a top-level
name whose last dotted part is ``test``, ``tests`` or ``conftest`` or ends in ``_tests``, and a name that is not
a dotted Python identifier (a stray path in ``top_level.txt``).
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import children
from .bytecode import worker_count
from .codes import ErrorCode
from .errors import DeployError
from .system_libraries import missing_library_hint

IMPORT_TIMEOUT_S = 120.0
#: After --no-compile, the bytecode the import check and the handshake share, in the version directory being
#: built; removed before its record is written.
CHECK_BYTECODE_DIR = ".check-bytecode"
NUMPY_CONSTRAINT = 'constraint-dependencies = ["numpy<2"]'
NUMPY_BANNER = "compiled using NumPy 1.x cannot be run in"
_SKIPPED_NAMES = ("test", "tests", "conftest")
_EXTENSION = re.compile(r"^([A-Za-z_]\w*)\..*\.(so|pyd)$|^([A-Za-z_]\w*)\.(so|pyd)$")
_ERROR_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")
_FOLLOW_UP = "SystemError: <built-in function __import__> returned a result with an exception set"
_PROBE = "import importlib, sys; importlib.import_module(sys.argv[1])"
_MARK = "\x1eprocvision import check: "
#: Imports its arguments in turn: before each, a mark on stderr; after each, its name on the original stdout
#: (print() goes to stderr, so only the child's reports reach it); stops at the first that raises.
_TOGETHER = f"""\
import importlib, os, sys
reports = os.dup(1)
os.dup2(2, 1)
for name in sys.argv[1:]:
    sys.stderr.write({_MARK!r} + name + "\\n")
    sys.stderr.flush()
    importlib.import_module(name)
    sys.stdout.flush()
    sys.stderr.flush()
    os.write(reports, (name + "\\n").encode("utf-8"))
os._exit(0)
"""


@dataclass(frozen=True)
class Distribution:
    """One installed distribution and the top-level modules it provides."""

    name: str
    version: str
    modules: tuple[str, ...]
    weight: int = 0  # the size of its RECORD: a rough measure of how long its import takes


@dataclass(frozen=True)
class ImportFailure:
    """One module that did not import: whose, the error's last line, and what to do when the cause is known."""

    distribution: str
    version: str
    module: str
    error: str
    hint: str | None = None

    def describe(self) -> str:
        text = f"{self.module} ({self.distribution} {self.version}): {self.error}"
        return f"{text}; hint: {self.hint}" if self.hint else text


@dataclass
class ImportReport:
    """What the check imported, skipped and saw fail, and how long it took."""

    checked: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failures: list[ImportFailure] = field(default_factory=list)
    seconds: float = 0.0


def skipped_by_rule(module: str) -> bool:
    """The documented rule: test suites, private helpers and names that are no module are not imported."""
    parts = module.split(".")
    return not all(part.isidentifier() for part in parts) or parts[-1] in _SKIPPED_NAMES or \
        parts[-1].endswith("_tests")


def site_packages(venv_dir: Path) -> Path:
    """The venv's site-packages: ``Lib/site-packages`` on Windows, ``lib/pythonX.Y/site-packages`` elsewhere."""
    found = [venv_dir / "Lib" / "site-packages", *sorted(venv_dir.glob("lib/python*/site-packages"))]
    for path in found:
        if path.is_dir():
            return path
    raise DeployError(f"the venv {venv_dir} has no site-packages directory", ErrorCode.INSTALL_FAILED)


def installed_distributions(packages: Path) -> list[Distribution]:
    """Every ``*.dist-info`` in ``packages`` with its top-level modules, sorted by name."""
    found = []
    for info in sorted(packages.glob("*.dist-info")):
        name, _, version = info.name[:-len(".dist-info")].partition("-")
        record = info / "RECORD"
        weight = record.stat().st_size if record.is_file() else 0
        found.append(Distribution(name, version, tuple(sorted(_top_level(info, packages))), weight))
    return found


def _top_level(info: Path, packages: Path) -> set[str]:
    listed = info / "top_level.txt"
    if listed.is_file():
        names = {line.strip().replace("/", ".") for line in listed.read_text("utf-8", "replace").splitlines()}
        return {name for name in names if name and _exists(packages, name)}
    names = set()
    record = info / "RECORD"
    lines = record.read_text("utf-8", "replace").splitlines() if record.is_file() else []
    for line in lines:
        path = line.split(",", 1)[0].strip().strip('"')
        parts = path.split("/")
        if not path or parts[0] in ("..", "") or parts[0].endswith((".dist-info", ".data")) or \
                parts[0] == "__pycache__":
            continue
        if len(parts) > 1 and path.endswith(".py"):
            names.add(parts[0])  # a package (or a namespace package)
        elif len(parts) == 1 and path.endswith(".py"):
            names.add(path[:-3])
        elif len(parts) == 1 and (match := _EXTENSION.match(path)):
            names.add(match[1] or match[3])
    return names


def _exists(packages: Path, name: str) -> bool:
    """``top_level.txt`` may name modules a wheel no longer ships: only what is there is imported."""
    base = packages.joinpath(*name.split("."))
    return base.is_dir() or base.with_name(base.name + ".py").is_file() or \
        any(base.parent.glob(base.name + ".*so")) or any(base.parent.glob(base.name + ".*pyd"))


def check_imports(python: Path, venv_dir: Path, *, cwd: Path | None = None, timeout: float = IMPORT_TIMEOUT_S,
                  workers: int | None = None, bytecode_cache: Path | None = None) -> ImportReport:
    """Import each distribution's top-level modules with ``python`` (the venv's): in one child per core, each
    importing its share in turn; then alone, in parallel children, the module such a child stopped at and those
    after it.

    The children write no bytecode into the venv. With ``bytecode_cache`` they share one there instead
    (``-X pycache_prefix``), as the handshake does: without the venv's own bytecode, each would compile NumPy.
    """
    started = time.monotonic()
    distributions = installed_distributions(site_packages(venv_dir))
    versions = {dist.name.lower(): dist.version for dist in distributions}
    report = ImportReport()
    jobs = []
    for dist in distributions:
        for module in dist.modules:
            (report.skipped if skipped_by_rule(module) else report.checked).append(module)
            if not skipped_by_rule(module):
                jobs.append((dist, module))
    env = {key: value for key, value in os.environ.items() if key.upper() not in ("PYTHONPATH", "PYTHONHOME")}
    bytecode = ["-B"] if bytecode_cache is None else ["-X", f"pycache_prefix={bytecode_cache}"]
    prefix = [str(python), *bytecode, "-X", "utf8", "-I"]
    directory = str(cwd or venv_dir)
    # the biggest distributions first (SymPy, SciPy): the last child to finish is then a short one
    ordered = sorted(jobs, key=lambda job: -job[0].weight)
    workers = workers or worker_count()
    groups = _groups(ordered, workers)
    with ThreadPoolExecutor(max_workers=max(1, len(groups))) as pool:
        shared = list(pool.map(lambda group: _import_together(prefix, [module for _, module in group], directory,
                                                                env, timeout), groups))

    def stopped(dist: Distribution, module: str) -> ImportFailure:
        return ImportFailure(dist.name, dist.version, module, f"import {module} did not finish within {timeout:g} s "
                             "and was stopped", "it may wait for hardware, a device or the network; if it cannot "
                             "be imported without them, install with --no-import-check")

    def one(job: tuple[Distribution, str]) -> ImportFailure | None:
        dist, module = job
        try:
            done = children.run([*prefix, "-c", _PROBE, module], timeout=timeout, cwd=directory, env=env,
                                encoding="utf-8")
        except subprocess.TimeoutExpired:
            return stopped(dist, module)
        if done.returncode == 0 and not _broken(done.stderr):
            return None
        return _failure(dist, module, done.stderr or done.stdout, versions)

    found: dict[tuple[Distribution, str], ImportFailure] = {}
    alone = []
    for group, together in zip(groups, shared):
        rest = group[together.imported:]
        if together.timed_out:  # a hang is not waited for twice
            found[rest[0]] = stopped(*rest[0])
            rest = rest[1:]
        alone += rest
    alone.sort(key=lambda job: -job[0].weight)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found.update((job, failure) for job, failure in zip(alone, pool.map(one, alone)) if failure is not None)
    report.failures = [found[job] for job in jobs if job in found]  # in the order of the names
    report.seconds = time.monotonic() - started
    return report


def _groups(jobs: list[tuple[Distribution, str]], count: int) -> list[list[tuple[Distribution, str]]]:
    """``jobs`` (biggest first) dealt into at most ``count`` groups of about equal weight, each in that order."""
    groups: list[list[tuple[Distribution, str]]] = [[] for _ in range(min(count, len(jobs)))]
    weights = [0] * len(groups)
    for job in jobs:
        lightest = weights.index(min(weights))
        groups[lightest].append(job)
        weights[lightest] += job[0].weight + 1
    return groups


@dataclass(frozen=True)
class _Together:
    """What the shared child did: how many modules, from the first, imported cleanly; whether the next one
    was stopped for taking longer than the timeout."""

    imported: int
    timed_out: bool


def _import_together(prefix: list[str], modules: list[str], cwd: str, env: dict[str, str],
                     timeout: float) -> _Together:
    """Import ``modules`` in turn in one child, each within ``timeout``; it stops at the first that raises,
    exits or does not finish, and a module that printed a traceback ends the clean ones too. A child that
    does not exit within ``timeout`` after its last import (a library's exit code that hangs) leaves every
    module to be checked alone."""
    if not modules:
        return _Together(0, False)
    # stderr goes to a file, not a pipe: a process that a module starts at import inherits it, and a pipe
    # would then stay open, and this call waiting, for as long as that process lives
    with tempfile.TemporaryFile() as errors:
        process = children.start([*prefix, "-c", _TOGETHER, *modules], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=errors)
        stdout = process.stdout
        assert stdout is not None
        reports: queue.Queue[str] = queue.Queue()

        def read_reports() -> None:
            for line in stdout:
                reports.put(line.rstrip(b"\r\n").decode("utf-8", "replace"))
            reports.put("")  # the child ended

        reader = threading.Thread(target=read_reports, daemon=True)
        reader.start()
        count, timed_out = 0, False
        try:
            while count < len(modules) and reports.get(timeout=timeout) == modules[count]:
                count += 1
        except queue.Empty:
            timed_out = True
        try:
            if timed_out or count < len(modules):
                children.kill_tree(process)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            children.kill_tree(process)
            process.wait()
            count, timed_out = 0, False  # which module's exit hangs is not known: each is checked alone
        reader.join(timeout=1.0)  # a process the child forked may hold the pipe: its reader is then left to it
        if not reader.is_alive():
            stdout.close()
        errors.seek(0)
        printed = errors.read().decode("utf-8", "replace").split(_MARK)[1:]
    clean = next((number for number, text in enumerate(printed[:count]) if _broken(text)), count)
    return _Together(clean, timed_out and clean == count)


def _broken(stderr: str) -> bool:
    """An import that returned but printed a traceback: onnxruntime built for NumPy 1.x under NumPy 2 does that
    (its extension fails, the package imports, the first call dies)."""
    return NUMPY_BANNER in stderr or "Traceback (most recent call last)" in stderr


def _failure(dist: Distribution, module: str, output: str, versions: dict[str, str]) -> ImportFailure:
    # the exception's line (not CPython's follow-up about the exception __import__ left set), else the last line
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if _ERROR_LINE.match(line) and not line.startswith(_FOLLOW_UP)]
    last = errors[-1] if errors else lines[-1] if lines else "it exited without a message"
    return ImportFailure(dist.name, dist.version, module, last, cause_hint(dist.name, output, versions))


def cause_hint(distribution: str, output: str, versions: dict[str, str]) -> str | None:
    """What to do when the error output shows a known cause: NumPy's ABI, a missing library; else None."""
    numpy = versions.get("numpy", "?")
    if NUMPY_BANNER in output or (
            numpy.startswith("2") and re.search(r"numpy\.core\.multiarray failed to import|_ARRAY_API not found",
                                                output)):
        return (f"{distribution} was compiled for NumPy 1.x and numpy {numpy} is installed: add "
                f"{NUMPY_CONSTRAINT} to [tool.procvision] in pyproject.toml and build again")
    return missing_library_hint(output, "install again")


def require_imports(python: Path, venv_dir: Path, progress: Callable[[str], None], *,
                    bytecode_cache: Path | None = None) -> ImportReport:
    """The install step: the check, 2005 naming every module that failed; ``progress`` gets one line.
    ``bytecode_cache``: where the children share bytecode when the install compiled none."""
    report = check_imports(python, venv_dir, cwd=venv_dir.parent, bytecode_cache=bytecode_cache)
    if report.failures:
        raise import_failure(report, "nothing was installed")
    skipped = f", {len(report.skipped)} skipped by rule" if report.skipped else ""
    progress(f"import check: {len(report.checked)} module(s) import{skipped} ({report.seconds:.1f} s)")
    return report


def import_failure(report: ImportReport, outcome: str) -> DeployError:
    """The 2005 error of a failed check: the modules in one line, each failure with its hint as detail."""
    names = ", ".join(f"{failure.module} ({failure.distribution} {failure.version})" for failure in report.failures)
    hints = sorted({failure.hint for failure in report.failures if failure.hint})
    message = (f"import check: {len(report.failures)} module(s) cannot be imported: {names}; {outcome}"
               + (f"; hint: {hints[0]}" if len(hints) == 1 else ""))
    return DeployError(message, ErrorCode.INSTALL_FAILED, [failure.describe() for failure in report.failures])
