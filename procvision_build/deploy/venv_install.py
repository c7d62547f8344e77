"""A venv for one version and pip installing the bundle's wheels into it, from those wheels only.

The venv is made without pip (fast); this interpreter's own pip (22.3 or newer) installs into it the way
``pip --python`` does, in one process. Without a usable pip here, ``ensurepip`` puts one into the venv.
pip never sees an index or the user's configuration: ``--no-index --isolated``, ``PIP_CONFIG_FILE`` set to
the null device, every other ``PIP_*`` variable removed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import venv
from pathlib import Path

from . import children
from .bundle_files import venv_python
from .codes import ErrorCode
from .errors import DeployError

#: pip's own runner for another environment (what ``pip --python`` runs) exists from pip 22.3.
MIN_PIP_FOR_RUNNER = (22, 3)
PIP_TIMEOUT_S = 30 * 60
TAIL_LINES = 15


def create_venv(venv_dir: Path) -> Path:
    """A venv without pip in ``venv_dir`` for this interpreter; returns its interpreter."""
    venv.EnvBuilder(symlinks=os.name != "nt", with_pip=False, clear=False).create(str(venv_dir))
    python = venv_python(venv_dir)
    if not python.exists():
        raise DeployError(f"the venv {venv_dir} has no {python.name} after creation", ErrorCode.INSTALL_FAILED)
    return python


def clean_environment() -> dict[str, str]:
    """This process's environment without pip settings or Python path overrides."""
    env = {key: value for key, value in os.environ.items()
           if not key.upper().startswith("PIP_") and key.upper() not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def host_pip_runner() -> tuple[Path, str] | None:
    """(``pip/__pip-runner__.py``, pip version) of this interpreter's pip when it is 22.3 or newer."""
    try:
        spec = importlib.util.find_spec("pip")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    runner = package / "__pip-runner__.py"
    try:
        init = (package / "__init__.py").read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"""__version__\s*=\s*["'](\d+)\.(\d+)[^"']*["']""", init)
    if not match or not runner.is_file() or (int(match[1]), int(match[2])) < MIN_PIP_FOR_RUNNER:
        return None
    return runner, f"{match[1]}.{match[2]}"


def pip_command(python: Path, env: dict[str, str]) -> tuple[list[str], str]:
    """The command that runs pip for ``python``'s venv, and a description of which pip that is."""
    host = host_pip_runner()
    if host is not None:
        return [str(python), "-I", str(host[0])], f"pip {host[1]} of this interpreter"
    done = _run([str(python), "-I", "-m", "ensurepip", "--default-pip"], env, python.parent)
    if done.returncode != 0:
        raise DeployError(f"this Python has no pip 22.3+ and ensurepip failed in {python.parent.parent} "
                          f"(exit {done.returncode}); install pip for {python} or a python.org build",
                          ErrorCode.INSTALL_FAILED, _tail(done))
    return [str(python), "-I", "-m", "pip"], "pip of the venv (ensurepip)"


def install_wheels(python: Path, requirements: Path, wheels: Path) -> str:
    """pip-install exactly the pinned wheels into ``python``'s venv; returns which pip did it. 2005 on failure."""
    env = clean_environment()
    command, which = pip_command(python, env)
    command += ["install", "--isolated", "--no-index", "--find-links", str(wheels), "--require-hashes",
                "--no-deps", "--only-binary", ":all:", "--no-cache-dir", "--disable-pip-version-check",
                "--no-input", "--no-warn-script-location", "--progress-bar", "off", "-r", str(requirements)]
    done = _run(command, env, requirements.parent)
    if done.returncode != 0:
        full = "No space left on device" in done.stdout + done.stderr
        hint = "the disk is full: free space there and install again" if full else "see pip's last lines below"
        raise DeployError(f"pip could not install the bundle's wheels into {python.parent.parent} "
                          f"(exit {done.returncode}); {hint}", ErrorCode.INSTALL_FAILED, _tail(done))
    return which


def retarget_scripts(venv_dir: Path, built_at: Path, final: Path) -> list[str]:
    """Rewrite the text files of the venv's script folder (shebangs, activate scripts) and ``pyvenv.cfg`` from the
    directory the venv was built in to the one it will live in; returns the files changed.

    Windows' ``.exe`` script launchers embed the path in binary form and keep the old one: use ``python -m``.
    """
    old, new = os.fsencode(str(built_at)), os.fsencode(str(final))
    scripts = venv_python(venv_dir).parent
    changed = []
    for path in [*sorted(scripts.iterdir()), venv_dir / "pyvenv.cfg"]:
        if path.is_symlink() or not path.is_file() or path.suffix.lower() in (".exe", ".dll", ".pyd"):
            continue
        data = path.read_bytes()
        if old in data and b"\0" not in data[:4096]:
            path.write_bytes(data.replace(old, new))
            changed.append(path.name)
    return changed


def _run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return children.run(command, env=env, cwd=str(cwd), timeout=PIP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DeployError(f"{Path(command[0]).name} {' '.join(command[2:4])} did not finish in {PIP_TIMEOUT_S} s "
                          "and was stopped", ErrorCode.INSTALL_FAILED) from None


def _tail(done: subprocess.CompletedProcess) -> list[str]:
    lines = [line for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
    return lines[-TAIL_LINES:]
