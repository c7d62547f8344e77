"""What we write, read by the tools the ecosystem trusts: the project's pylock.toml installs with pip and uv and
validates with packaging.pylock; the SBOM passes CycloneDX's strict validator with a complete dependency graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.bundle.conftest import Built

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LINUX = "cp310-manylinux_2_17_x86_64"


def test_the_projects_lock_validates_with_packaging(example_bundles: Built) -> None:
    from packaging.pylock import Pylock

    data = tomllib.loads((example_bundles.project / "pylock.toml").read_text())
    Pylock.from_dict(data).validate()
    sdk = next(p for p in data["packages"] if p["name"] == "procvision-algorithm-sdk")
    # the SDK is a source directory (../sdk): built at lock time, locked as the archive of that wheel
    assert sdk["version"] == "1.0.0" and set(sdk["archive"]) == {"path", "size", "hashes"}
    assert (example_bundles.project / sdk["archive"]["path"]).is_file()


@pytest.fixture(scope="module")
def install_env(offline_pip_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No index at all: every file comes from the lock's own URLs (127.0.0.1) and paths."""
    cache = tmp_path_factory.mktemp("pylock-install")
    return {**offline_pip_env, "PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(cache / "uv"), "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "0"}


def fresh_venv(python: Path, where: Path, env: dict[str, str]) -> Path:
    subprocess.run([str(python), "-m", "venv", str(where)], check=True, env=env, capture_output=True)
    return where / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    code = "import importlib.metadata as m; print('\\n'.join(sorted(f'{d.metadata[\"Name\"]}=={d.version}' " \
           "for d in m.distributions())))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(line.split("==") for line in done.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_install_the_projects_lock_in_a_fresh_310_venv(example_bundles: Built, python_for, install_env,
                                                                   tmp_path: Path, installer: str) -> None:
    python = fresh_venv(python_for("3.10"), tmp_path / "venv", install_env)
    lock = example_bundles.project / "pylock.toml"
    if installer == "pip":  # pip reads pylock.toml with -r since 26.1 (the wheelhouse holds one)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pip>=26.1"], check=True, env=install_env,
                       capture_output=True)
        command = [str(python), "-m", "pip", "install", "-r", str(lock)]
    else:
        command = ["uv", "pip", "install", "--python", str(python), "-r", str(lock)]
    done = subprocess.run(command, env=install_env, capture_output=True, text=True, timeout=300,
                          cwd=example_bundles.project)
    assert done.returncode == 0, done.stdout + done.stderr
    selected = tomllib.loads(lock.read_text())["tool"]["procvision"]["selected"][LINUX]["wheels"]
    versions = installed(python)
    for wheel in selected:
        assert versions.get(wheel["name"]) == wheel["version"], (wheel, versions)
