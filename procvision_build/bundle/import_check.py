"""The import check at build: install a written bundle into a temporary root with its own installer, which imports
every package (``procvision_build.deploy.import_check``), on each target this machine can run.

A target can be checked here when its platform tag fits this machine (OS, architecture, glibc new enough) and an
interpreter of its version is found: pyenv's versions, then ``pythonX.Y`` on PATH, then ``py -X.Y`` on Windows.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

from procvision_build.config.model import TargetSpec
from procvision_build.deploy.interpreter import platform_problem
from procvision_build.errors import ImportCheckError

INSTALL_TIMEOUT_S = 30 * 60
_SYSTEMS = (("win", "Windows", "win32"), ("macosx", "macOS", "darwin"), ("linux", "Linux", "linux"),
            ("manylinux", "Linux", "linux"), ("musllinux", "Linux", "linux"))


def unchecked_reason(spec: TargetSpec) -> str | None:
    """Why ``spec`` cannot be checked on this machine ("no Windows here"), or None when it can."""
    for prefix, system, platform in _SYSTEMS:
        if spec.platform.startswith(prefix) and not sys.platform.startswith(platform):
            return f"no {system} here"
    if spec.implementation != "cp":
        return f"no {spec.implementation} interpreter is looked for"
    problem = platform_problem(spec.platform)
    if problem:
        return problem
    if find_interpreter(spec.python) is None:
        return (f"no Python {spec.python} found: pyenv's versions, python{_minor(spec.python)} on PATH"
                + (f", py -{_minor(spec.python)}" if os.name == "nt" else ""))
    return None


def _minor(python: str) -> str:
    return ".".join(python.split(".")[:2])


@cache
def find_interpreter(python: str) -> Path | None:
    """A CPython of version ``python`` ("3.10" or "3.10.12"): pyenv, then ``pythonX.Y`` on PATH, then ``py``."""
    minor = _minor(python)
    candidates: list[str] = []
    versions = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if versions.is_dir():
        for entry in sorted(versions.iterdir(), key=_version_key, reverse=True):  # 3.10.13 before 3.10.9
            if entry.name == python or entry.name.startswith(python + "."):
                candidates += [str(entry / "bin" / "python"), str(entry / "python.exe")]
    found = shutil.which(f"python{minor}")
    if found:
        candidates.append(found)
    if os.name == "nt" and shutil.which("py"):
        candidates.append(f"py -{minor}")
    for candidate in candidates:
        command = candidate.split(" ") if candidate.startswith("py -") else [candidate]
        if not candidate.startswith("py -") and not Path(candidate).is_file():
            continue
        try:
            done = subprocess.run([*command, "-c", "import sys; print(sys.executable); "
                                   "print('.'.join(map(str, sys.version_info[:3])))"],
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = done.stdout.split()
        if done.returncode == 0 and len(lines) == 2 and (lines[1] + ".").startswith(python + "."):
            return Path(lines[0])
    return None


def _version_key(entry: Path) -> tuple[tuple[int, ...], bool, str]:
    """pyenv's folder names in version order: the numbers as numbers, a plain release before a variant of it
    ("3.13.0" before "3.13.0t")."""
    numbers = []
    for part in entry.name.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        numbers.append(int(digits) if digits else -1)
        if digits != part:
            break
    return tuple(numbers), entry.name.replace(".", "").isdigit(), entry.name


class NotInstallable(Exception):
    """The temporary install failed before or after the import check (the handshake, say): the check says nothing
    about the imports then; ``str()`` is the installer's message."""


def check_bundle_imports(bundle: Path, python: Path, outcome: str = "; no bundle was written") -> float:
    """Install ``bundle`` with ``python`` into a temporary root (its installer runs the import check); returns
    the seconds taken. ``ImportCheckError`` (2005) names the modules that failed, then ``outcome``;
    ``NotInstallable`` when the install failed for another reason."""
    root = Path(tempfile.mkdtemp(prefix="procvision-import-check-"))
    try:
        try:
            # without SOURCE_DATE_EPOCH (a reproducible build sets it): the check's install, thrown away, takes the
            # bundle's bytecode rather than compiling hash-checked pycs of its own
            env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
            done = subprocess.run([str(python), str(bundle), "install", "--root", str(root), "--json"],
                                  capture_output=True, text=True, encoding="utf-8", errors="replace",
                                  timeout=INSTALL_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env)
        except subprocess.TimeoutExpired:
            raise ImportCheckError(f"{bundle.name}: installing it to check its imports took more than "
                                   f"{INSTALL_TIMEOUT_S} s{outcome}") from None
        if done.returncode == 0:
            record = json.loads(done.stdout.strip().splitlines()[-1])
            return float(record.get("seconds", 0.0))
        error = _error_record(done.stderr)
        message = error.get("message") or f"its installer exited {done.returncode}"
        if not message.startswith("import check:"):
            raise NotInstallable(message)
        raise ImportCheckError(f"{bundle.name} does not install here ({python}): {message}{outcome}",
                               [str(line) for line in error.get("detail", ())])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _error_record(stderr: str) -> dict:
    """The installer's JSON error record (the last line with ``"event": "error"``), or an empty one."""
    for line in reversed(stderr.splitlines()):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == "error":
            return record
    tail = [line for line in stderr.splitlines() if line.strip()][-5:]
    return {"detail": tail}


def check_one_bundle(bundle: Path) -> str:
    """``procvision validate BUNDLE.zip --imports``: the same check for one bundle; returns the line to print
    ("not checked: ..." when this machine cannot run its target). ``ImportCheckError`` when it fails."""
    import zipfile

    from procvision_build.deploy.bundle_files import MANIFEST
    from procvision_build.deploy.manifest import parse_manifest

    with zipfile.ZipFile(bundle) as archive:
        name = next((member for member in archive.namelist() if member.endswith("/" + MANIFEST)
                     and member.count("/") == 1), None)
        if name is None:
            raise ImportCheckError(f"{bundle.name} has no manifest.json, so its target is unknown (validate "
                                   "names the problem)")
        manifest = parse_manifest(archive.read(name), need_target=True)
    assert manifest.target is not None
    spec = TargetSpec(manifest.target.platform, manifest.target.python, manifest.target.implementation,
                      manifest.target.abi)
    reason = unchecked_reason(spec)
    if reason is not None:
        return f"not checked: {spec.platform} ({reason})"
    python = find_interpreter(spec.python)
    assert python is not None
    try:
        seconds = check_bundle_imports(bundle, python, "")
    except NotInstallable as error:
        raise ImportCheckError(f"{bundle.name} does not install here ({python}): {error}") from None
    return f"import check: {bundle.name} installs and every package imports with {python} ({seconds:.1f} s)"
