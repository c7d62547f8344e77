"""The rule for bundles in ``build_wheel``: installers never pay for them, ``python -m build`` gets them, and
``-C bundle=true|false`` overrides the rule either way. Requests on the factory index are counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.backend.helpers import copy_example
from tests.support.commands import clean_env

pytestmark = pytest.mark.slow  # every test here runs a frontend in a child process


def run(command: list, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def backend_venv(tmp_path_factory: pytest.TempPathFactory, offline_pip_env: dict[str, str]) -> Path:
    """A venv with procvision-build installed (from its fresh wheel), for builds without isolation."""
    venv = tmp_path_factory.mktemp("frontend-venv") / "venv"
    run([sys.executable, "-m", "venv", venv], offline_pip_env)
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "procvision-build"], offline_pip_env)
    return venv


@pytest.fixture
def project_env(tmp_path: Path, factory_index, offline_pip_env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A copy of the example and an environment whose pip (and our backend) see only the factory index."""
    env = {key: value for key, value in offline_pip_env.items() if key != "PIP_NO_INDEX"}
    env.update(PIP_INDEX_URL=factory_index.url, PROCVISION_CACHE_DIR=str(tmp_path / "cache"),
               UV_CACHE_DIR=str(tmp_path / "uv-cache"), UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    factory_index.clear_log()
    return copy_example(tmp_path / "src"), env


def bundles_under(*folders: Path) -> list[Path]:
    return [path for folder in folders if folder.exists() for path in folder.rglob("*.zip")]


@pytest.mark.parametrize("frontend", ["pip install", "pip wheel", "uv pip install"])
def test_installers_make_no_bundle_and_ask_no_index(frontend: str, backend_venv: Path, project_env, factory_index,
                                                    tmp_path: Path) -> None:
    project, env = project_env
    python = backend_venv / "bin" / "python"
    wheels = tmp_path / "wheels"
    commands = {
        "pip install": [python, "-m", "pip", "install", "--no-build-isolation", "--no-deps", project],
        "pip wheel": [python, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps", "-w", wheels, project],
        "uv pip install": ["uv", "pip", "install", "--python", python, "--no-build-isolation", "--no-deps",
                           "--index-url", factory_index.url, project],
    }
    run(commands[frontend], env)
    assert factory_index.requests == []  # no resolution, no fetch: nothing of the bundles was paid for
    assert bundles_under(project, wheels, tmp_path / "cache") == []
    if frontend == "pip wheel":
        assert [path.name for path in wheels.iterdir()] == ["algorithm_example-1.0.0-py3-none-any.whl"]


def test_bundle_true_makes_an_installer_pay(backend_venv: Path, project_env, factory_index, tmp_path: Path) -> None:
    project, env = project_env
    run([backend_venv / "bin" / "python", "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
         "--config-settings", "bundle=true", "-w", tmp_path / "wheels", project], env)
    assert factory_index.requests  # it resolved and fetched for the bundles (which pip then threw away)


def test_python_m_build_makes_bundles_unless_told_not_to(project_env, factory_index, tmp_path: Path) -> None:
    project, env = project_env
    env = {**env, "PYTHONPATH": clean_env()["PYTHONPATH"]}  # no isolation: this checkout's backend
    out = tmp_path / "out"
    run([sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check", "-C", "bundle=false", "-o", out, project], env)
    assert sorted(path.suffix for path in out.iterdir()) == [".gz", ".whl"] and factory_index.requests == []
    run([sys.executable, "-m", "build", "--no-isolation", "--skip-dependency-check", "--wheel", "-C", "bundle=true",
         "-C", "target=manylinux_2_17_x86_64:3.10", "-o", out, project], env)
    assert [path.name for path in bundles_under(out)] == ["algorithm_example-1.0.0-cp310-manylinux_2_17_x86_64.zip"]
