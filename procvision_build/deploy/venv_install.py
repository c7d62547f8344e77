"""A venv for one version, made without pip (neither pip nor ensurepip is needed), and its move.

The wheels go in with wheel_install.py; the venv is built under the temporary name, so its script folder and
``pyvenv.cfg`` are pointed at the final one before the rename.
"""

from __future__ import annotations

import os
import venv
from pathlib import Path

from .bundle_files import venv_python
from .codes import ErrorCode
from .errors import DeployError


def create_venv(venv_dir: Path) -> Path:
    """A venv without pip in ``venv_dir`` for this interpreter; returns its interpreter."""
    venv.EnvBuilder(symlinks=os.name != "nt", with_pip=False, clear=False).create(str(venv_dir))
    python = Path(venv_python(venv_dir))
    if not python.exists():
        raise DeployError(f"the venv {venv_dir} has no {python.name} after creation", ErrorCode.INSTALL_FAILED)
    return python


def retarget_scripts(venv_dir: Path, built_at: Path, final: Path) -> list[str]:
    """Rewrite the text files of the venv's script folder (shebangs, activate scripts) and ``pyvenv.cfg`` from the
    directory the venv was built in to the one it will live in; returns the files changed.

    Windows' ``.exe`` script launchers embed the path in binary form and keep the old one: use ``python -m``.
    """
    old, new = os.fsencode(str(built_at)), os.fsencode(str(final))
    scripts = Path(venv_python(venv_dir)).parent
    changed = []
    for path in [*sorted(scripts.iterdir()), venv_dir / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file() or path.suffix.lower() in (".exe", ".dll", ".pyd"):
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:4096]:
            path.write_bytes(data.replace(old, new))
            changed.append(path.name)
    return changed
