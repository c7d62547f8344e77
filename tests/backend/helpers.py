"""Shared helpers of the backend tests: copies of the example, hooks run the way a frontend runs them."""

from __future__ import annotations

import base64
import functools
import csv
import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterable

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "example-algorithm"
SDK = ROOT / "sdk"


def copy_example(parent: Path) -> Path:
    """A copy of what git tracks of example-algorithm/ in ``parent``, with the SDK beside it (its ``../sdk`` source).

    Only tracked files: a ``pylock.toml`` or ``dist/`` left by a user's earlier command is not part of the example.
    """
    parent.mkdir(parents=True, exist_ok=True)
    target = parent / "example-algorithm"
    copy_tracked(EXAMPLE, target)
    if not (parent / "sdk").exists():
        (parent / "sdk").symlink_to(SDK, target_is_directory=True)
    return target


def copy_tracked(source: Path, target: Path) -> None:
    """Copy the files git tracks under ``source`` (everything but build output when this is not a git checkout)."""
    tracked = _tracked(source)
    if tracked is None:
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "dist", "build", "pylock.toml"))
        return
    for relative in tracked:
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / relative, target / relative)


@functools.cache
def _tracked(source: Path) -> tuple[str, ...] | None:
    listed = subprocess.run(["git", "ls-files", "-z", "--", "."], cwd=source, capture_output=True)
    return tuple(filter(None, listed.stdout.decode().split("\0"))) if listed.returncode == 0 else None


_tracked(EXAMPLE)  # asked once, while the tests are collected


def run_hook(project: Path, hook: str, outdir: Path, env: dict[str, str] | None = None,
             python: str = sys.executable, extra_path: Iterable[Path] = (), settings: dict[str, str] | None = None) -> str:
    """Call ``procvision_build.<hook>(outdir)`` in a child process whose working directory is ``project``.

    ``extra_path`` goes on sys.path too (pure-Python wheels import from their zip).
    """
    outdir.mkdir(parents=True, exist_ok=True)
    child_env = dict(os.environ if env is None else env)
    child_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *map(str, extra_path)])
    code = f"import procvision_build as b, sys; print(b.{hook}(sys.argv[1], {settings or {}!r}))"
    done = subprocess.run([python, "-c", code, str(outdir)], cwd=project, env=child_env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_record(wheel: Path) -> dict[str, bytes]:
    """Every file of ``wheel`` is in RECORD with the right sha256 and size; returns name -> bytes."""
    with zipfile.ZipFile(wheel) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    record_name = next(name for name in files if name.endswith(".dist-info/RECORD"))
    rows = {row[0]: row[1:] for row in csv.reader(io.StringIO(files[record_name].decode()))}
    assert set(rows) == set(files), set(rows) ^ set(files)
    for name, data in files.items():
        if name == record_name:
            assert rows[name] == ["", ""]
            continue
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        assert rows[name] == [f"sha256={digest}", str(len(data))], name
    return files
