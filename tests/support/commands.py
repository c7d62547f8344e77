"""The one way tests run our code in a child process: a clean environment, then ``procvision`` or a snippet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping

ROOT = Path(__file__).resolve().parents[2]


def clean_env(cache: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without the machine's pip settings (PIP_*), PYTHON* variables or index access;
    procvision_build and the SDK importable from the checkout; the cache in ``cache`` when given."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "PYTHON"))}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "sdk")]))
    if cache is not None:
        env["PROCVISION_CACHE_DIR"] = str(cache)
    env.update(extra or {})
    return env


def procvision(*args: str | Path, cwd: Path | None = None, cache: Path | None = None,
               env: Mapping[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -m procvision_build ARGS`` (the ``procvision`` command) in a clean environment."""
    return subprocess.run([sys.executable, "-m", "procvision_build", *map(str, args)], cwd=cwd or ROOT,
                          env=clean_env(cache, env), capture_output=True, text=True, timeout=timeout)


def python_snippet(code: str, *args: str | Path, cwd: Path | None = None, cache: Path | None = None,
                   env: Mapping[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python -c CODE ARGS`` in a clean environment (a PEP 517 hook called as a frontend would)."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], cwd=cwd or ROOT,
                          env=clean_env(cache, env), capture_output=True, text=True, timeout=timeout)
