"""Find the CPython interpreters on this machine that tests may build venvs with."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path


@functools.cache
def find_python(version: str) -> Path | None:
    """Return an interpreter for ``version`` (like "3.10"), or None when the machine has none."""
    candidates: list[Path] = []
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    versions = pyenv_root / "versions"
    if versions.is_dir():
        for entry in sorted(versions.iterdir(), reverse=True):
            if entry.name.startswith(version + "."):
                candidates.append(entry / "bin" / "python")
    found = shutil.which(f"python{version}")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if not candidate.exists():
            continue
        probe = subprocess.run(
            [str(candidate), "-c", "import sys, venv; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None
